"""What a fine-tuning job trains, and with which settings.

``FinetuneSettings`` holds every option with its classroom default and checks them
(``validate``). ``scratch_model`` builds a small fresh model of the base's family (the
same tokenizer and vocabulary); ``add_lora`` wraps a model in peft LoRA adapters.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llm_core.errors import InputError

if TYPE_CHECKING:  # torch is imported inside functions: importing it costs seconds
    from torch import nn

METHODS = ("lora", "full", "scratch")
# Defaults for a classroom run on 2 CPU cores (benchmarks/finetune_speed.py measures it):
# LoRA r=8 on q/k/v/o at 2e-3, 48 steps x 4 blocks x 128 tokens = 24.6k tokens of the
# Tang poems, about 2.5 min at ~180 tokens/s, takes validation perplexity from ~47 to ~18
# (most of the drop in the first 15 steps). Full fine-tuning moves every weight, so it
# takes a smaller rate; a fresh model from scratch needs a large one.
DEFAULT_LEARNING_RATES = {"lora": 2e-3, "full": 1e-4, "scratch": 2e-3}
DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
EVAL_POINTS = 4  # validation losses during training (plus before and after)
MAX_STEPS = 100_000
MAX_BLOCK_LENGTH = 2048
MAX_BATCH_SIZE = 256
MAX_EVAL_TOKENS = 65_536
MAX_ATTENTION_TEXT_TOKENS = 64  # all layers are kept for before/after: stays small
DEFAULT_ATTENTION_TOKENS = 32  # the automatic attention text: the start of a held-out document
MAX_SCRATCH_LAYERS, MAX_SCRATCH_D_MODEL = 32, 2048


@dataclass(frozen=True)
class FinetuneSettings:
    """What to train and how. ``learning_rate=None``: the method's default
    (``DEFAULT_LEARNING_RATES``). ``eval_every=None``: about ``EVAL_POINTS`` validation
    losses during the run. ``eval_tokens``: held-out tokens measured each time (spread
    over the validation blocks). ``sample_prompt``/``attention_text`` "": taken from the
    first held-out document (its first line / its first ``DEFAULT_ATTENTION_TOKENS``)."""

    method: str = "lora"
    steps: int = 48
    block_length: int = 128
    batch_size: int = 4
    learning_rate: float | None = None
    validation_fraction: float = 0.1
    eval_every: int | None = None
    eval_tokens: int = 1536
    seed: int = 0
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] = DEFAULT_TARGET_MODULES
    scratch_layers: int = 4
    scratch_d_model: int = 256
    scratch_heads: int = 4
    sample_prompt: str = ""
    sample_tokens: int = 48
    attention_text: str = ""

    @property
    def resolved_learning_rate(self) -> float:
        return (
            self.learning_rate
            if self.learning_rate is not None
            else DEFAULT_LEARNING_RATES[self.method]
        )

    @property
    def resolved_eval_every(self) -> int:
        return self.eval_every if self.eval_every is not None else max(1, self.steps // EVAL_POINTS)

    def validate(self) -> FinetuneSettings:
        """``self`` if every option is in range, else ``InputError`` naming the option."""
        if self.method not in METHODS:
            raise InputError(f"Unknown method '{self.method}': use one of {', '.join(METHODS)}.")
        for name, low, high in (
            ("steps", 1, MAX_STEPS),
            ("block_length", 8, MAX_BLOCK_LENGTH),
            ("batch_size", 1, MAX_BATCH_SIZE),
            ("eval_tokens", 8, MAX_EVAL_TOKENS),
            ("seed", 0, 2**31 - 1),
            ("lora_rank", 1, 512),
            ("lora_alpha", 1, 4096),
            ("scratch_layers", 1, MAX_SCRATCH_LAYERS),
            ("scratch_d_model", 8, MAX_SCRATCH_D_MODEL),
            ("scratch_heads", 1, 64),
            ("sample_tokens", 1, 256),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise InputError(f"{name} must be a whole number; got {value!r}.")
            if not low <= value <= high:
                raise InputError(f"{name} must be between {low} and {high}; got {value}.")
        if self.eval_every is not None and not 0 <= self.eval_every <= MAX_STEPS:
            raise InputError(
                f"eval_every must be 0 (never) or a number of steps; got {self.eval_every}."
            )
        if not 0 < self.resolved_learning_rate <= 1:
            raise InputError(
                f"The learning rate must be in (0, 1]; got {self.resolved_learning_rate}."
            )
        if not 0 <= self.lora_dropout < 1:
            raise InputError(f"lora_dropout must be in [0, 1); got {self.lora_dropout}.")
        if self.method == "lora" and not self.target_modules:
            raise InputError("LoRA needs at least one target module, e.g. q_proj and v_proj.")
        if self.scratch_d_model % self.scratch_heads:
            raise InputError(
                f"scratch_d_model ({self.scratch_d_model}) must divide evenly into "
                f"scratch_heads ({self.scratch_heads}) heads."
            )
        return self

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["target_modules"] = list(self.target_modules)
        record["learning_rate"] = self.resolved_learning_rate
        record["eval_every"] = self.resolved_eval_every
        return record


# ---------------------------------------------------------------------------- models


def check_trainable(model: nn.Module, settings: FinetuneSettings) -> None:
    """Refuse to train int8 layers (a saved int8 variant): they have no gradients.

    Training from scratch only borrows the base's config and tokenizer, so it is allowed.
    """
    if settings.method == "scratch":
        return
    import torch.ao.nn.quantized.dynamic as nnqd

    quantized = [name for name, m in model.named_modules() if isinstance(m, nnqd.Linear)]
    if quantized:
        raise InputError(
            f"This model holds int8 layers ({len(quantized)}, e.g. {quantized[0]}), which "
            f"cannot be trained with {settings.method}. Fine-tune the float32 model it "
            "was compressed from, then compress the result; or train from scratch."
        )


def scratch_model(base: nn.Module, settings: FinetuneSettings) -> nn.Module:
    """A freshly initialised model of ``base``'s family and vocabulary, sized by
    ``settings.scratch_*`` (seeded, so the same settings give the same start)."""
    import torch
    from transformers import AutoModelForCausalLM

    config = copy.deepcopy(base.config)
    d_model, heads = settings.scratch_d_model, settings.scratch_heads
    # attribute_map lets GPT-2 configs take these names too (n_layer, n_embd, n_head)
    config.num_hidden_layers = settings.scratch_layers
    config.hidden_size = d_model
    config.num_attention_heads = heads
    if hasattr(config, "num_key_value_heads"):
        config.num_key_value_heads = heads
    if getattr(config, "head_dim", None) is not None:
        config.head_dim = d_model // heads
    if hasattr(config, "intermediate_size"):
        config.intermediate_size = 4 * d_model
    elif hasattr(config, "n_inner"):
        config.n_inner = 4 * d_model
    for name in ("layer_types", "max_window_layers"):  # per-layer lists sized for the base
        if isinstance(getattr(config, name, None), list):
            setattr(config, name, getattr(config, name)[: settings.scratch_layers])
    torch.manual_seed(settings.seed)
    return AutoModelForCausalLM.from_config(
        config, dtype=torch.float32, attn_implementation="eager"
    )


def lora_target_choices(model: nn.Module) -> list[str]:
    """Names of ``model``'s projection layers that LoRA can adapt (``q_proj``, ...,
    GPT-2's ``c_attn``), sorted; ``DEFAULT_TARGET_MODULES`` among them by default."""
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    return sorted(n for n in names if n.endswith("proj") or n in ("c_attn", "c_proj", "c_fc"))


def default_lora_targets(model: nn.Module) -> tuple[str, ...]:
    """``DEFAULT_TARGET_MODULES`` that ``model`` has, else its first two projections."""
    choices = lora_target_choices(model)
    return tuple(m for m in DEFAULT_TARGET_MODULES if m in choices) or tuple(choices[:2])


def add_lora(model: nn.Module, settings: FinetuneSettings) -> nn.Module:
    """Wrap ``model`` in peft LoRA adapters; only the adapters will train."""
    from peft import LoraConfig, get_peft_model

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [m for m in settings.target_modules if m not in present]
    if missing:
        linear = lora_target_choices(model)
        raise InputError(
            f"This model has no module named {', '.join(missing)}. Its projection layers "
            f"are: {', '.join(linear) or 'none found'}. Pick LoRA targets among them."
        )
    config = LoraConfig(
        r=settings.lora_rank,
        lora_alpha=settings.lora_alpha,
        lora_dropout=settings.lora_dropout,
        target_modules=list(settings.target_modules),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)
