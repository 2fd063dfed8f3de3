"""llm_core: the engine behind the LLM explorer. Pure Python/torch; never imports streamlit.

Load a model with ``load_model(spec)``; each capability lives in its own module.
"""

from llm_core.default_model import DEFAULT_SPEC, prepare_default_model
from llm_core.errors import LLMCoreError
from llm_core.models import LoadedModel, ModelDescription, describe_model, list_models, load_model

__all__ = [
    "DEFAULT_SPEC",
    "LLMCoreError",
    "LoadedModel",
    "ModelDescription",
    "describe_model",
    "list_models",
    "load_model",
    "prepare_default_model",
]
