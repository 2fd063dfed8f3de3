"""The decode step's decoder layers and head as one TorchScript function (``scripted``).

Why: every torch call made from Python gives up the GIL while its kernel runs and takes it
back after. A decode step of SmolLM2 makes ~1,500 such calls (~50 per layer), most of
them microseconds long. In the app, the sessions' page threads want the GIL too (each
step wakes every generating page), so the model worker lost it at nearly every call and
waited for it back: in a measurement here, one busy Python thread beside a 10-row step
took its CPU time from 99 to 381 ms; four bursty ones (~80% of a core together, like the
pages of a class) to 140 ms. The worker's share of a class's generation grew as much.
A TorchScript function runs its operations in C++ and gives the GIL up once for the call.

The operations of transformers' Llama and Qwen2 layers, in the same order, with oneDNN's
linear where this torch has it (``kernels.onednn_linear``). It runs in TorchScript's
plain interpreter (``optimized_execution(False)``): no profiling runs, no fusion, nothing
specialised to one shape, since the key length grows every step. ``torch.jit.script`` is
deprecated in favour of ``torch.compile``, which needs a C++ compiler at run time (a
deployed app has none): where this torch can no longer script it, or a scripted run
raised, ``scripted()`` is None and Python runs ``decode_layers`` itself (the same values,
bit for bit; the tests compare the two).

Imported by ``decode_step`` on first use (it imports torch). No ``from __future__ import
annotations`` here: TorchScript reads the annotations as written.
"""

import functools
import warnings
from collections.abc import Callable

import torch


def _linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, onednn: bool
) -> torch.Tensor:
    if onednn:
        scalars: list[int | float | complex | None] = []  # the schema's Scalar?[]
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", scalars, "")
    return torch.nn.functional.linear(x, weight, bias)


def _rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


def _rotated(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin


def decode_layers(
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    padding: torch.Tensor,
    norms: list[torch.Tensor],
    eps: list[float],
    weights: list[torch.Tensor],
    biases: list[torch.Tensor | None],
    keys: list[torch.Tensor],
    values: list[torch.Tensor],
    used: int,
    scaling: list[float],
    n_kv: int,
    group: int,
    d_head: int,
    capture: bool,
    onednn: bool,
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
    """Embedded rows ``x`` [row, d_model] -> (logits [row, d_vocab], the attention of each
    layer [row, head, key_pos] if ``capture``). Per layer ``i``: ``norms[2i]``,
    ``norms[2i + 1]`` (and ``eps``) its two RMSNorms, ``weights`` and ``biases`` from
    ``7i`` its q, k, v, o, gate, up and down layers (SiLU between gate and up);
    ``norms[-1]`` and ``weights[-1]`` the final norm and the head. ``keys[i]`` and
    ``values[i]`` [row, kv_head, column, d_head] hold ``used`` columns and room for one
    more: the new key and value are written there. Also returns each layer's keys and
    values now ([row, kv_head, used + 1, d_head] views of the buffers): taken here, so
    the caller slices nothing (each slice from Python gives up the GIL too)."""
    n_rows = x.shape[0]
    kept: list[torch.Tensor] = []
    all_keys: list[torch.Tensor] = []
    all_values: list[torch.Tensor] = []
    for i in range(len(keys)):
        w = 7 * i  # q, k, v, o, gate, up, down
        h = _rms_norm(x, norms[2 * i], eps[2 * i])
        q = _linear(h, weights[w], biases[w], onednn).view(n_rows, -1, d_head)
        k = _linear(h, weights[w + 1], biases[w + 1], onednn).view(n_rows, n_kv, d_head)
        v = _linear(h, weights[w + 2], biases[w + 2], onednn).view(n_rows, n_kv, 1, d_head)
        q, k = _rotated(q, cos, sin), _rotated(k, cos, sin)
        keys[i][:, :, used : used + 1, :] = k.view(n_rows, n_kv, 1, d_head)
        values[i][:, :, used : used + 1, :] = v
        layer_keys = keys[i][:, :, : used + 1, :]
        layer_values = values[i][:, :, : used + 1, :]
        all_keys.append(layer_keys)
        all_values.append(layer_values)
        scores = torch.matmul(q.view(n_rows, n_kv, group, d_head), layer_keys.transpose(2, 3))
        scores = scores * scaling[i] + padding
        attention = torch.softmax(scores, dim=-1, dtype=torch.float32)
        if capture:
            kept.append(attention.view(n_rows, n_kv * group, -1))
        mixed = torch.matmul(attention, layer_values).view(n_rows, -1)
        x = x + _linear(mixed, weights[w + 3], biases[w + 3], onednn)
        h = _rms_norm(x, norms[2 * i + 1], eps[2 * i + 1])
        gate = torch.nn.functional.silu(_linear(h, weights[w + 4], biases[w + 4], onednn))
        up = _linear(h, weights[w + 5], biases[w + 5], onednn)
        x = x + _linear(gate * up, weights[w + 6], biases[w + 6], onednn)
    h = _rms_norm(x, norms[-1], eps[-1])
    return _linear(h, weights[-1], biases[-1], onednn), kept, all_keys, all_values


_FAILED: list[BaseException] = []  # a run that raised (see give_up)


def scripted() -> Callable | None:
    """``decode_layers`` compiled by TorchScript (once per process), or None where this
    torch cannot script it or a run of it raised (see module doc)."""
    return None if _FAILED else _compiled()


@functools.cache
def _compiled() -> Callable | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # see module doc
            return torch.jit.script(decode_layers)
    except Exception:  # noqa: BLE001 - no TorchScript here: Python runs decode_layers
        return None


def give_up(error: BaseException) -> None:
    """The scripted function raised while running (a torch whose kernels or schemas
    changed under it): Python runs ``decode_layers`` from now on, in this process."""
    _FAILED.append(error)


def run(function: Callable, *args):
    """Call the scripted ``function`` in TorchScript's plain interpreter (see module doc)."""
    with torch.jit.optimized_execution(False):
        return function(*args)
