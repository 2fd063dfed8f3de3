"""Activation patching: where does the model keep the fact?

Two prompts of the same token length, a clean one ("The capital of France is") and a
corrupted one ("The capital of Italy is"), and a target token (" Paris"). For every
layer l and text position p, the corrupted prompt runs again with one activation, at
layer l and position p, replaced by its value from the clean run; the normalized effect

    (p_patched - p_corrupt) / (p_clean - p_corrupt)

on p(target) at the last position says how much of the clean answer that one activation
carries back: 1 = all of it, 0 = none. Components (``COMPONENTS``):

- ``residual``: the output of decoder layer l (the residual stream after the layer);
- ``attention``: the output of layer l's self-attention (before it is added back);
- ``mlp``: the output of layer l's MLP.

Both prompts are read after the same context (start token or BOS), which is identical in
both and so never patched. All patched runs of a component are batched: each row of the
batch is one (layer, position) pair, and forward hooks on every layer overwrite only
their own rows. Each chunk runs under ``loaded.lock``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llm_core.attention.trace import fused_attention
from llm_core.errors import InputError
from llm_core.interpret.prompts import Prompt, Target, target_id_for, token_text
from llm_core.models.anatomy import attention_modules, decoder_layers, mlp_module
from llm_core.models.loading import LoadedModel

if TYPE_CHECKING:  # torch loads lazily, with the first model: ``import llm_core`` stays fast
    import torch

COMPONENTS = ("residual", "attention", "mlp")
# p_clean and p_corrupt closer than this leave the normalized effect undefined.
MIN_PROBABILITY_GAP = 1e-6
MAX_ROWS_TOKENS = 4096  # tokens per batched chunk of patched runs
# Patching runs the prompt once per (layer, position): layers x T runs of T tokens, so
# its cost grows as T^2. 32 tokens on SmolLM2 is 30 x 32 runs, about 65 s on 2 cores
# per component, blocking the model for everyone; 16 tokens about a quarter of that; the pair
# (5 tokens) about 2-4 s (benchmarks/interpret_speed.py).
MAX_PATCH_TOKENS = 16


@dataclass(frozen=True, eq=False)
class Patching:
    """The normalized effect of patching ``component`` at each layer and text position:
    ``effect`` [layer, position] float32. ``labels``: the clean prompt's text tokens
    (``corrupt_labels`` the corrupted one's); ``differs``: positions where the two
    prompts' tokens differ."""

    clean: Prompt
    corrupt: Prompt
    component: str
    target: Target
    p_clean: float
    p_corrupt: float
    effect: np.ndarray  # [layer, position]

    @property
    def labels(self) -> list[str]:
        return self.clean.tokenization.labels("token")

    @property
    def corrupt_labels(self) -> list[str]:
        return self.corrupt.tokenization.labels("token")

    @property
    def differs(self) -> list[int]:
        a, b = self.clean.tokenization.ids, self.corrupt.tokenization.ids
        return [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "corrupt_labels": self.corrupt_labels,
            "component": self.component,
            "target": self.target.to_json(),
            "p_clean": self.p_clean,
            "p_corrupt": self.p_corrupt,
            "effect": [[round(float(v), 6) for v in row] for row in self.effect],
        }


def check_pair(clean: Prompt, corrupt: Prompt) -> None:
    """``InputError`` unless the prompts have the same context and token length and differ
    somewhere; the message shows both tokenizations."""
    a, b = clean.tokenization, corrupt.tokenization
    if clean.context_ids != corrupt.context_ids:
        raise InputError("The clean and corrupted prompts must be read after the same start token.")
    if len(a.ids) != len(b.ids):
        raise InputError(
            f"The clean prompt has {len(a.ids)} tokens and the corrupted one {len(b.ids)}; "
            "patching needs the same length, position by position. Clean: "
            f"{' | '.join(a.labels('token'))}. Corrupted: {' | '.join(b.labels('token'))}."
        )
    if len(a.ids) > MAX_PATCH_TOKENS:
        raise InputError(
            f"The prompts have {len(a.ids)} tokens; patching takes at most {MAX_PATCH_TOKENS} "
            "(it runs the model once per layer and position). Shorten them to the words "
            "that matter."
        )
    if a.ids == b.ids:
        raise InputError(
            "The clean and corrupted prompts are the same tokens: change a word of the "
            "corrupted one (e.g. France -> Italy), so there is something to restore."
        )


def patch(
    loaded: LoadedModel,
    clean: Prompt,
    corrupt: Prompt,
    target: str | int | None = None,
    component: str = "residual",
) -> Patching:
    """Patch every (layer, text position) of ``component`` from the clean run into the
    corrupted one; ``target`` as in ``llm_core.interpret.prompts.target_id_for`` (None:
    the clean prompt's most likely next token)."""
    import torch

    if component not in COMPONENTS:
        raise InputError(f"Unknown component '{component}': use one of {', '.join(COMPONENTS)}.")
    check_pair(clean, corrupt)
    modules = _modules(loaded, component)
    clean_ids, corrupt_ids = torch.tensor([clean.ids]), torch.tensor([corrupt.ids])
    recorded: dict[int, torch.Tensor] = {}
    with loaded.lock, fused_attention(loaded.model), torch.inference_mode():
        with _hooks(modules, lambda layer, out: recorded.__setitem__(layer, out[0].clone())):
            clean_logits = _last_logits(loaded, clean_ids)[0]
        target_id = target_id_for(loaded, target, clean_logits)
        p_clean = float(clean_logits.softmax(-1)[target_id])
        p_corrupt = float(_last_logits(loaded, corrupt_ids)[0].softmax(-1)[target_id])
    if abs(p_clean - p_corrupt) < MIN_PROBABILITY_GAP:
        raise InputError(
            f"The target has the same probability after both prompts ({p_clean:.6f}): "
            "there is no difference for patching to restore. Pick another target or prompts."
        )
    n_layers, n_context = len(modules), clean.n_context
    positions = list(range(n_context, len(clean.ids)))
    pairs = [(layer, p) for layer in range(n_layers) for p in positions]
    chunk = max(1, MAX_ROWS_TOKENS // len(corrupt.ids))
    probs = []
    for start in range(0, len(pairs), chunk):
        rows = pairs[start : start + chunk]
        layer_of = torch.tensor([layer for layer, _ in rows])
        position_of = torch.tensor([p for _, p in rows])

        overwrite = _overwriter(recorded, layer_of, position_of)
        with (
            loaded.lock,
            fused_attention(loaded.model),
            torch.inference_mode(),
            _hooks(modules, overwrite),
        ):
            logits = _last_logits(loaded, corrupt_ids.repeat(len(rows), 1))
            probs.append(logits.softmax(-1)[:, target_id])
    p_patched = torch.cat(probs).double().numpy().reshape(n_layers, len(positions))
    effect = ((p_patched - p_corrupt) / (p_clean - p_corrupt)).astype(np.float32)
    effect.flags.writeable = False
    found = Target(target_id, token_text(loaded, target_id), float(np.log(p_clean)))
    return Patching(clean, corrupt, component, found, p_clean, p_corrupt, effect)


def _overwriter(
    recorded: dict[int, torch.Tensor], layer_of: torch.Tensor, position_of: torch.Tensor
) -> Any:
    """A hook action putting the clean value of (layer_of[r], position_of[r]) into row r."""

    def overwrite(layer: int, out: torch.Tensor) -> None:
        mine = (layer_of == layer).nonzero()[:, 0]
        if len(mine):
            out[mine, position_of[mine]] = recorded[layer][position_of[mine]]

    return overwrite


def _modules(loaded: LoadedModel, component: str) -> list[torch.nn.Module]:
    layers = list(decoder_layers(loaded.model))
    if component == "residual":
        return layers
    if component == "attention":
        return attention_modules(loaded.model, len(layers))
    return [mlp_module(block) for block in layers]


def _last_logits(loaded: LoadedModel, ids: torch.Tensor) -> torch.Tensor:
    """[rows, d_vocab] float32 logits at the last position."""
    return loaded.model(input_ids=ids, use_cache=False, logits_to_keep=1).logits[:, -1].float()


class _hooks:
    """Forward hooks on ``modules`` calling ``act(layer, hidden)`` with the module's output
    tensor [rows, T, d_model] (the first element when it returns a tuple), which ``act``
    may change in place; removed on exit."""

    def __init__(self, modules: list[Any], act: Any):
        self.modules, self.act, self.handles = modules, act, []

    def __enter__(self) -> _hooks:
        for layer, module in enumerate(self.modules):
            self.handles.append(module.register_forward_hook(self._hook(layer)))
        return self

    def _hook(self, layer: int) -> Any:
        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            self.act(layer, output[0] if isinstance(output, tuple) else output)

        return hook

    def __exit__(self, *_exc: Any) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()
