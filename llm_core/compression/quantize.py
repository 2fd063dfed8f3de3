"""Lower-precision weights on a copy of a model: int8 and bfloat16 (pruning:
``llm_core.compression.pruning``; sizes: ``llm_core.compression.sizes``).

    model = copy_for_compression(loaded)                # never the shared model itself
    report = quantize_int8(model, calibration_ids)       # in place on the copy

"The linear layers" are the ``nn.Linear`` modules inside the transformer blocks
(attention and MLP projections): the embeddings and the output head (tied to the
embeddings in SmolLM2) stay in float32, as in most deployed int8 models.

int8 is torch's dynamic quantization (``torch.ao.quantization.quantize_dynamic``):
weights stored as int8 with one scale per output channel, activations quantized on the
fly. SmolLM2 has *massive activations*: a few tokens (the first one above all) carry
values up to ~3,000 where typical ones are ~0.1, and a few down projections see them.
Torch quantizes a whole input matrix with one scale, so one such token crushes every
other token's activations to a handful of levels (top-1 agreement with the float model
falls to ~0.3 on 512-token blocks). Two remedies, both kept here and both reported:
``GroupedDynamicLinear`` quantizes rows (tokens) of similar magnitude together, and
linear layers whose calibration inputs have a max/mean ratio above ``OUTLIER_RATIO``
stay in float32 (``keep_outliers``).
"""

from __future__ import annotations

import contextlib
import copy
import platform
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from llm_core.errors import InputError, UnsupportedModelError
from llm_core.models.loading import LoadedModel

if TYPE_CHECKING:  # torch is imported inside functions: importing it costs seconds
    import torch
    from torch import nn

# A linear layer whose calibration input has max|x| / mean|x| above this stays float32.
OUTLIER_RATIO = 100.0
# Rows whose max|x| lie within 2 ** (1 / GROUPS_PER_OCTAVE) of one another share a scale.
GROUPS_PER_OCTAVE = 2
MAX_CALIBRATION_TOKENS = 512


@contextlib.contextmanager
def quiet_quantization() -> Iterator[None]:
    """torch 2.13 marks ``torch.ao.quantization`` deprecated (pointing to torchao) but it
    works and is what torch itself offers; its warnings would only alarm a reader."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantiz.*", category=UserWarning)
        yield


@cache
def activations_reduce_range() -> bool:
    """Whether int8 activations must use 7 bits (``reduce_range``): x86 CPUs without VNNI
    multiply u8 x s8 pairs in 16-bit sums that saturate with full 8-bit activations."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686"):
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            flags = info.read()
    except OSError:
        return True  # unknown x86 CPU: the safe choice
    return not any(flag in flags for flag in ("avx512_vnni", "avx_vnni", "amx_int8"))


def _dynamic_linear_class() -> type:
    import torch
    import torch.ao.nn.quantized.dynamic as nnqd

    class GroupedDynamicLinear(nnqd.Linear):
        """torch's dynamic int8 linear, fed rows of similar magnitude together.

        Input rows (tokens) are grouped by floor(log2(max|row|) * GROUPS_PER_OCTAVE);
        each group is one call of torch's kernel and so gets its own activation scale. A
        decoding step has one row, so one call: exactly torch's own module.
        """

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            shape = x.shape
            rows = x.reshape(-1, shape[-1])  # (B * T, d_in)
            packed = self._packed_params._packed_params
            reduce = activations_reduce_range()
            if rows.shape[0] == 1:
                out = torch.ops.quantized.linear_dynamic(rows, packed, reduce_range=reduce)
                return out.reshape(*shape[:-1], -1).to(x.dtype)
            peak = rows.detach().abs().amax(-1).clamp_min(1e-12)
            group = torch.floor(torch.log2(peak) * GROUPS_PER_OCTAVE).long()  # (B * T,)
            out = None
            for value in torch.unique(group):
                index = (group == value).nonzero()[:, 0]
                part = torch.ops.quantized.linear_dynamic(
                    rows.index_select(0, index), packed, reduce_range=reduce
                )
                if out is None:
                    out = part.new_empty(rows.shape[0], part.shape[-1])
                out.index_copy_(0, index, part)
            return out.reshape(*shape[:-1], -1).to(x.dtype)

        def _get_name(self) -> str:
            return "GroupedDynamicQuantizedLinear"

    return GroupedDynamicLinear


@cache
def grouped_dynamic_linear() -> type:
    """The ``GroupedDynamicLinear`` class (built on first use: importing torch is slow)."""
    return _dynamic_linear_class()


# ---------------------------------------------------------------------------- finding


def copy_for_compression(loaded: LoadedModel) -> nn.Module:
    """A deep copy of ``loaded.model`` (taken under its lock), refused if it is already
    int8: compressing a compressed model twice would compare against the wrong thing."""
    if is_int8(loaded.model):
        raise InputError(
            f"'{loaded.description.name}' is already int8: pick its float model in the "
            "sidebar to compress it from the original weights."
        )
    with loaded.lock:
        model = copy.deepcopy(loaded.model)
    model.eval()
    return model


def is_int8(model: nn.Module) -> bool:
    import torch.ao.nn.quantized.dynamic as nnqd

    return any(isinstance(m, nnqd.Linear) for m in model.modules())


def linear_layers(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """(name, module) of every ``nn.Linear`` in the transformer blocks, in order (the
    output head is left out). Raises ``UnsupportedModelError`` when there are none
    (GPT-2 uses its own ``Conv1D``)."""
    import torch

    head = model.get_output_embeddings()
    found = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and module is not head
    ]
    if not found:
        raise UnsupportedModelError(
            f"{type(model).__name__} has no nn.Linear layers in its blocks (GPT-2 uses "
            "Conv1D), so it cannot be compressed here. Use a Llama- or Qwen2-style model."
        )
    return found


# ---------------------------------------------------------------------------- int8 and bf16


@dataclass(frozen=True)
class Int8Report:
    """Which linear layers became int8 and which stayed float32 (with their input's
    max/mean ratio on the calibration text), and the activation bits used."""

    quantized: tuple[str, ...]
    kept_float: dict[str, float]
    activation_bits: int
    grouped_rows: bool


def input_outlier_ratios(model: nn.Module, calibration_ids: Sequence[int]) -> dict[str, float]:
    """max|x| / mean|x| of each linear layer's input over ``calibration_ids``."""
    import torch

    ids = list(calibration_ids)[:MAX_CALIBRATION_TOKENS]
    if len(ids) < 2:
        raise InputError("Calibrating int8 needs a text of at least 2 tokens.")
    ratios: dict[str, float] = {}

    def record(name: str):
        def hook(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            values = args[0].detach().abs()
            ratios[name] = float(values.max() / values.mean().clamp_min(1e-12))

        return hook

    handles = [m.register_forward_pre_hook(record(n)) for n, m in linear_layers(model)]
    try:
        with torch.inference_mode():
            model(input_ids=torch.tensor([ids]), use_cache=False)
    finally:
        for handle in handles:
            handle.remove()
    return ratios


def quantize_int8(
    model: nn.Module, calibration_ids: Sequence[int] | None = None, keep_outliers: bool = True
) -> Int8Report:
    """Make ``model``'s linear layers dynamic int8, in place (per-channel weights).

    ``keep_outliers``: layers whose input max/mean ratio on ``calibration_ids`` exceeds
    ``OUTLIER_RATIO`` stay float32 and rows of similar magnitude are quantized together;
    ``False`` is torch's plain ``quantize_dynamic`` on every linear layer.
    """
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    names = [name for name, _ in linear_layers(model)]
    kept: dict[str, float] = {}
    if keep_outliers:
        if calibration_ids is None:
            raise InputError("keep_outliers needs calibration token ids to find the outliers.")
        ratios = input_outlier_ratios(model, calibration_ids)
        kept = {n: round(ratios[n], 1) for n in names if ratios.get(n, 0.0) > OUTLIER_RATIO}
    chosen = [n for n in names if n not in kept]
    linear_class = grouped_dynamic_linear() if keep_outliers else None
    with quiet_quantization():
        quantize_dynamic(
            model,
            dict.fromkeys(chosen, per_channel_dynamic_qconfig),
            dtype=torch.qint8,
            mapping={torch.nn.Linear: linear_class} if linear_class else None,
            inplace=True,
        )
    bits = 7 if activations_reduce_range() else 8
    if not keep_outliers:
        bits = 7  # torch's own module always passes reduce_range=True
    return Int8Report(tuple(chosen), kept, bits, grouped_rows=keep_outliers)


def to_bfloat16(model: nn.Module) -> None:
    """Every weight as bfloat16, in place. The logits are handed on as float32 (a hook on
    the output head), so the engine's numpy code never meets a bfloat16 tensor."""
    import torch

    model.to(torch.bfloat16)
    model.get_output_embeddings().register_forward_hook(lambda _m, _i, out: out.float())
