"""Faster CPU kernels for a forward pass's linear layers (``fast_linears``).

This torch CPU build's ``F.linear`` goes to MKL; oneDNN's linear
(``torch.ops.mkldnn._linear_pointwise``, checked against ``F.linear`` once per process)
is faster for SmolLM2's layers from a few token rows to 2,048 (at 8 rows it loses ~10
us on the smallest ones and wins on the MLP), and 2-3x faster on the wide LM head.
A model copied under its lock (fine-tuning, compression) never sees the swap.
"""

from __future__ import annotations

import contextlib
import functools
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch loads lazily
    import torch

FAST_HEAD_ROWS = 64  # up to this many rows, the LM head's faster kernel (see fast_linears)


@contextlib.contextmanager
def fast_linears(model: torch.nn.Module, n_rows: int) -> Iterator[None]:
    """Run the model's linear layers on oneDNN for this forward pass (``n_rows``: the
    token rows it feeds the LM head, 0 when it runs none).

    Median ms on this project's two cores (float32, ``/tmp`` micro-benchmark), SmolLM2's
    MLP [1536, 576] at 30 / 512 / 2,048 token rows: ``F.linear`` 0.51 / 6.5 / 26, oneDNN
    0.37 / 5.4 / 21; in the model, a 30-row decode step took ~10% less time and CPU.
    Its LM head [49152, 576] at 1 / 2 / 4 / 8 / 30 rows: ``F.linear`` 11 / 25 / 19 / 19
    / 33, ``W @ h.T`` 12 / 5 / 7 / 15 / 30, oneDNN 5 / 7 / 8 / 9 / 16. So every layer
    takes oneDNN where this torch has it, except a head of 2 to 4 rows (``W @ h.T``) and
    one of over ``FAST_HEAD_ROWS`` rows (left alone). The same products summed in another
    order (within ~1e-6). Only plain float32 ``nn.Linear`` layers on the CPU with no
    forward of their own (an accelerate hook) are swapped, for this pass, under the
    model's lock; LoRA, int8 and other layers keep theirs.
    """
    import torch

    kernel = onednn_linear()
    head = model.get_output_embeddings()
    swapped: list[torch.nn.Module] = []

    def on_rows(compute: Callable) -> Callable:
        """A layer's forward that runs ``compute`` on its input as [token row, feature]."""

        def forward(hidden: torch.Tensor) -> torch.Tensor:
            out = compute(hidden.reshape(-1, hidden.shape[-1]).contiguous())
            return out.reshape(*hidden.shape[:-1], out.shape[-1])

        return forward

    def onednn(layer: torch.nn.Linear) -> Callable:
        return lambda rows: kernel(rows, layer.weight, layer.bias, "none", [], "")

    def head_rows(rows: torch.Tensor) -> torch.Tensor:
        if kernel is not None and not 2 <= len(rows) <= 4:
            return onednn(head)(rows)
        logits = torch.matmul(head.weight, rows.T).T
        return logits if head.bias is None else logits + head.bias

    if kernel is not None:
        for layer in _plain_linears(model):
            if layer is not head:
                layer.forward = on_rows(onednn(layer))
                swapped.append(layer)
    if is_plain_linear(head) and 0 < n_rows <= FAST_HEAD_ROWS and (n_rows > 1 or kernel):
        head.forward = on_rows(head_rows)
        swapped.append(head)
    try:
        yield
    finally:
        for layer in swapped:
            del layer.forward


def is_plain_linear(layer: Any) -> bool:
    """A float32 ``nn.Linear`` on the CPU running its own class's forward."""
    import torch

    return (
        type(layer) is torch.nn.Linear
        and "forward" not in vars(layer)
        and layer.weight.device.type == "cpu"
        and layer.weight.dtype == torch.float32
    )


_LINEARS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _plain_linears(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The model's plain float32 CPU ``nn.Linear`` layers, found once per model."""
    found = _LINEARS.get(model)
    if found is None:
        found = _LINEARS[model] = [m for m in model.modules() if is_plain_linear(m)]
    return [layer for layer in found if is_plain_linear(layer)]  # still plain now


@functools.cache
def onednn_linear() -> Callable | None:
    """oneDNN's linear kernel, if this torch has it and it agrees with ``F.linear``."""
    import torch

    if not torch.backends.mkldnn.is_available():
        return None
    kernel = getattr(torch.ops.mkldnn, "_linear_pointwise", None)
    if kernel is None:
        return None
    generator = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(40, 24, generator=generator), torch.randn(40, generator=generator)
    x = torch.randn(3, 24, generator=generator)
    try:
        with torch.inference_mode():
            agrees = torch.allclose(
                kernel(x, weight, bias, "none", [], ""),
                torch.nn.functional.linear(x, weight, bias),
                atol=1e-5,
            )
    except Exception:  # present but refusing these inputs
        return None
    return kernel if agrees else None
