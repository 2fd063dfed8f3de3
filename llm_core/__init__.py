"""llm_core: the engine behind the LLM explorer. Pure Python/torch/numpy; never imports
streamlit, ``ui`` or ``views``.

    import llm_core
    loaded = llm_core.load_model("default")
    tokens = llm_core.tokenize(loaded.tokenizer, "我爱吃苹果")
    trace = llm_core.run_trace(loaded, tokens.ids)       # one forward pass
    weights = llm_core.layer_attention(loaded, trace, 3)  # [head, query_pos, key_pos]

The names below are the public API; each lives in one subpackage (``models``, ``text``,
``attention``, ``generation``, ``training``, ``compression``, ``interpret``, ``serving``,
``plots``, ``cli``) and is
imported on first use, so ``import llm_core`` stays fast (torch and transformers load
only when a model does).
"""

from __future__ import annotations

import importlib
from typing import Any

# Loading a saved int8 variant needs the restorer the compression package registers.
import llm_core.compression.variants  # noqa: F401

_PUBLIC = {
    "llm_core.errors": ("LLMCoreError", "InputError"),
    "llm_core.models.default_model": ("DEFAULT_SPEC", "prepare_default_model"),
    "llm_core.models.loading": ("LoadedModel", "load_model", "load_tokenizer"),
    "llm_core.models.description": ("ModelDescription", "describe_model", "list_models"),
    "llm_core.text.tokens": ("Tokenization", "tokenize", "tokenize_with"),
    "llm_core.text.corpus": ("Corpus", "load_corpus", "read_corpus"),
    "llm_core.attention.trace": ("Trace", "run_trace"),
    "llm_core.attention.recompute": ("head_attention", "layer_attention"),
    "llm_core.attention.summary": ("AttentionSummary", "summarize_attention"),
    "llm_core.attention.matrices": ("AttentionMatrix", "attention_matrix", "attention_to_tokens"),
    "llm_core.attention.capture": ("AttentionCapture", "capture_attention"),
    "llm_core.attention.reductions": ("REDUCTIONS", "aggregate", "attention_rollout"),
    "llm_core.generation.sampling": ("GenerationSettings",),
    "llm_core.generation.generate": (
        "build_prompt_ids",
        "generate",
        "iter_generate",
        "next_token_distribution",
    ),
    "llm_core.generation.perplexity": ("perplexity",),
    "llm_core.generation.logit_lens": ("logit_lens",),
    "llm_core.training.settings": ("FinetuneSettings",),
    "llm_core.training.finetune": ("run_finetune",),
    "llm_core.compression.run": ("CompressionRequest", "run_compression"),
    "llm_core.interpret.prompts": ("prepare_prompt",),
    "llm_core.interpret.attribution": ("Attribution", "attribute"),
    "llm_core.interpret.patching": ("Patching", "patch"),
    "llm_core.interpret.comparison": ("Comparison", "compare"),
    "llm_core.jobs": ("JOB_SLOT", "Job"),
}
_HOME = {name: module for module, names in _PUBLIC.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'llm_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value  # the next lookup skips this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
