"""A decode step written out for Llama-style models: ``lean_decode_step``.

A decode step feeds one new token per sequence. transformers' forward does it through
generic machinery that costs more than the step's arithmetic beside its matrix products:
a 4-D mask built per pass, the keys and values of every layer copied once per query head
(``repeat_kv``), module hooks and dispatch, ``(batch, 1, d)`` shapes through every op. On
SmolLM2 at 30 sequences that was ~30-50 ms of a ~125 ms step on two cores (the other
~75 ms: the linear layers). This function runs the same layers in the same order of
operations on ``[row, d_model]`` tensors (the layers and head in
``llm_core.models.decode_layers``, one TorchScript call):

    x = embed(ids)                                               # [row, d_model]
    per layer:  h = rms_norm(x)
                q, k, v = h Wq, h Wk, h Wv                       # [row, head|kv_head, d_head]
                q, k = rotary(q, k, position)                    # the model's own cos/sin
                K, V = the cache with k, v written in its room   # [row, kv_head, key_pos, d_head]
                a = softmax(q K^T * scale + padding)             # grouped: no copy of K, V
                x = x + (a V) Wo
                x = x + down(silu(h' Wgate) * h' Wup),  h' = rms_norm(x)
    logits = head(rms_norm(x))                                   # [row, d_vocab]

so its logits and attention rows are transformers' up to float rounding (tests compare
both on tiny Llama and Qwen2 models and on the default model). Query head ``h`` reads
key/value head ``h // (n_heads / n_kv_heads)``, as ``repeat_kv`` lays them out.

Only models that are exactly this (``can_step_lean``) take it: Llama and Qwen2
decoder layers with full attention, RMSNorms, SiLU MLPs, and plain float32 linear layers
with no forward of their own (LoRA, int8 or hooked layers take transformers' forward).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from llm_core.models.anatomy import decoder_layers
from llm_core.models.kernels import is_plain_linear, onednn_linear

if TYPE_CHECKING:  # torch loads lazily
    import torch

LEAN_ARCHITECTURES = ("Llama", "Qwen2")  # class name prefixes of the blocks (both tested)


def can_step_lean(model: torch.nn.Module) -> bool:
    """True when ``lean_decode_step`` computes this model's forward (see module doc)."""
    if model not in _SHAPES:
        _SHAPES[model] = _lean_shape(model)
    shape = _SHAPES[model]
    return shape is not None and shape.still_fits(model)


def lean_decode_step(
    model: torch.nn.Module,
    ids: torch.Tensor,
    positions: torch.Tensor,
    mask: torch.Tensor,
    cache: Any,
    capture: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One new token per row through the model (``can_step_lean`` must be True).

    ``ids`` [row]: the tokens fed; ``positions`` [row]: each one's position (tokens
    before it); ``mask`` [row, key_pos] 1 for a row's tokens, 0 for padding, the new
    column included; ``cache``: a ``DynamicCache`` whose layers keep room for the new
    column (``room``/``filled``: ``llm_core.serving.batch``'s roomy layers). Returns
    logits [row, d_vocab] and, if ``capture``, the attention of the new token [row,
    layer, head, key_pos] (rows sum to 1, padding exactly 0). Call under
    ``torch.inference_mode``.

    The layers and head run as one TorchScript call (``decode_layers``: the GIL is given
    up once, not at each of ~1,500 torch calls); where this torch cannot script it, or a
    run of it raised, Python runs the same function."""
    import torch

    from llm_core.models import decode_layers

    shape = _SHAPES[model]
    x = shape.embed(ids)  # [row, d_model]
    cos, sin = shape.rotary(x, positions[:, None])  # [row, 1, d_head]
    padding = torch.zeros(mask.shape, dtype=x.dtype).masked_fill_(mask == 0, _lowest(x.dtype))
    padding = padding.view(ids.shape[0], 1, 1, -1)  # [row, 1, 1, key_pos], for every head
    layers = cache.layers
    rooms = [layer.room(1) for layer in layers]  # (keys, values, columns used) of each
    norms, eps, weights, biases = [], [], [], []
    for block in shape.blocks:
        for norm in (block.input_norm, block.post_norm):
            norms.append(norm.weight)
            eps.append(float(norm.variance_epsilon))
        for linear in block.linears:
            weights.append(linear.weight)
            biases.append(linear.bias)
    norms.append(shape.final_norm.weight)
    eps.append(float(shape.final_norm.variance_epsilon))
    weights.append(shape.head_layer.weight)
    biases.append(shape.head_layer.bias)
    args = (
        x, cos, sin, padding, norms, eps, weights, biases,
        [room[0] for room in rooms], [room[1] for room in rooms], rooms[0][2],
        [block.scaling for block in shape.blocks], shape.n_kv_heads,
        shape.n_heads // shape.n_kv_heads, shape.d_head, capture, onednn_linear() is not None,
    )  # fmt: skip
    function = decode_layers.scripted()
    try:
        outputs = decode_layers.run(function, *args) if function is not None else None
    except Exception as error:  # noqa: BLE001 - what it wrote lies past the used columns
        decode_layers.give_up(error)
        outputs = None
    logits, kept, keys, values = outputs or decode_layers.decode_layers(*args)
    for layer, layer_keys, layer_values in zip(layers, keys, values, strict=True):
        layer.filled(layer_keys, layer_values)
    return logits, (torch.stack(kept, dim=1) if capture else None)


def _lowest(dtype: torch.dtype) -> float:
    import torch

    return torch.finfo(dtype).min  # what eager attention adds to masked keys


class _Block:
    """One decoder layer's parts."""

    def __init__(self, layers: Any, index: int) -> None:
        layer = layers[index]
        attention, mlp = layer.self_attn, layer.mlp
        self.input_norm, self.post_norm = layer.input_layernorm, layer.post_attention_layernorm
        self.scaling = float(attention.scaling)
        self.linears = (attention.q_proj, attention.k_proj, attention.v_proj, attention.o_proj)
        self.linears += (mlp.gate_proj, mlp.up_proj, mlp.down_proj)  # decode_layers' order
        # (parent, name, child, is a linear layer) of every part read here: see still_fits
        self.places: list[tuple[Any, str, Any, bool]] = [(layers, str(index), layer, False)]
        self.places += [(layer, name, getattr(layer, name), False) for name in _LAYER_PARTS]
        self.places += [
            (attention, name, getattr(attention, name), True) for name in _ATTENTION_PARTS
        ]
        self.places += [(mlp, name, getattr(mlp, name), True) for name in _MLP_LINEARS]
        self.places.append((mlp, "act_fn", mlp.act_fn, False))


_LAYER_PARTS = ("self_attn", "mlp", "input_layernorm", "post_attention_layernorm")
_ATTENTION_PARTS = ("q_proj", "k_proj", "v_proj", "o_proj")
_MLP_LINEARS = ("gate_proj", "up_proj", "down_proj")
ATTENTION_IMPLEMENTATIONS = ("eager", "sdpa")  # the same softmax(QK^T / sqrt(d) + mask) V


class _Shape:
    """What ``lean_decode_step`` reads of a model, found once per model."""

    def __init__(self, model: Any, layers: Any) -> None:
        inner = model.base_model
        self.blocks = [_Block(layers, index) for index in range(len(layers))]
        self.embed, self.rotary, self.final_norm = inner.embed_tokens, inner.rotary_emb, inner.norm
        head = model.get_output_embeddings()
        self.config = config = model.config
        self.n_heads, self.n_kv_heads = config.num_attention_heads, config.num_key_value_heads
        self.d_head = getattr(config, "head_dim", None) or config.hidden_size // self.n_heads
        self.head_layer = head  # checked against the model's own at every step
        self.places = [(inner, name, getattr(inner, name), False) for name in _MODEL_PARTS]
        self.places.append((inner, "layers", layers, False))
        self.places += [place for block in self.blocks for place in block.places]
        self.inner = inner  # parts only, never the model itself (see _SHAPES)

    def still_fits(self, model: Any) -> bool:
        """Checked every step (~0.6 ms on SmolLM2's ~400 parts, <1% of a step), since this
        path calls no module's forward: every
        part read here is still where it was (nothing swapped for a LoRA, int8 or wrapped
        one), linear layers are plain, no part has a forward of its own or hooks, and the
        config still asks for eager (or sdpa) attention over all its layers."""
        config = self.config
        if model.config is not config or model.base_model is not self.inner:
            return False
        if getattr(config, "_attn_implementation", "eager") not in ATTENTION_IMPLEMENTATIONS:
            return False
        if config.num_hidden_layers != len(self.blocks) or _has_hooks(model):
            return False
        head = self.head_layer
        if model._modules.get("lm_head") is not head or _has_hooks(head):
            return False
        if not is_plain_linear(head):
            return False
        for parent, name, child, linear in self.places:
            if parent._modules.get(name) is not child or _has_hooks(child):
                return False
            if not is_plain_linear(child) if linear else "forward" in vars(child):
                return False
        return not _has_hooks(self.inner)


_MODEL_PARTS = ("embed_tokens", "rotary_emb", "norm")


def _is_silu(act: Any) -> bool:
    """torch's ``SiLU`` or transformers' ``SiLUActivation`` (its forward is ``F.silu``)."""
    import torch

    kind = type(act)
    return kind is torch.nn.SiLU or (
        (kind.__module__, kind.__name__) == ("transformers.activations", "SiLUActivation")
    )


# transformers puts these on a model's layers at its first forward with output_attentions
# (or hidden states) and leaves them: they record only inside such a forward, never here.
TRANSFORMERS_RECORDERS = "transformers.utils.output_capturing"


def _has_hooks(module: Any) -> bool:
    """Hooks on ``module`` other than transformers' idle output recorders."""
    if not module._forward_hooks and not module._forward_pre_hooks:
        return False
    hooks = [*module._forward_hooks.values(), *module._forward_pre_hooks.values()]
    return any(getattr(hook, "__module__", None) != TRANSFORMERS_RECORDERS for hook in hooks)


# model -> _Shape | None; a _Shape holds the model's parts, never the model (a value that
# held its key would keep every model loaded in this process alive)
_SHAPES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _lean_shape(model: Any) -> _Shape | None:
    """The model's parts if it is exactly the architecture written out above, else None."""
    try:
        layers = decoder_layers(model)
        inner = model.base_model
        norms = [inner.norm] + [
            norm
            for layer in layers
            for norm in (layer.input_layernorm, layer.post_attention_layernorm)
        ]
        if not layers or not all(_is_lean_layer(layer) for layer in layers):
            return None
        if not all(_is_silu(layer.mlp.act_fn) for layer in layers):  # decode_layers' MLP
            return None
        if not all(_named(norm, "RMSNorm") for norm in norms):
            return None
        if not _named(inner.rotary_emb, "RotaryEmbedding"):
            return None
        if type(inner.embed_tokens).__name__ != "Embedding":
            return None
        if model._modules.get("lm_head") is not model.get_output_embeddings():
            return None
        return _Shape(model, layers)
    except Exception:  # noqa: BLE001 - any model this cannot read takes transformers' forward
        return None


def _is_lean_layer(layer: Any) -> bool:
    attention = layer.self_attn
    return (
        _named(layer, "DecoderLayer")
        and _named(attention, "Attention")
        and _named(layer.mlp, "MLP")
        and getattr(attention, "sliding_window", None) is None
    )


def _named(module: Any, suffix: str) -> bool:
    """The module's class is one of ``LEAN_ARCHITECTURES``' ``suffix`` classes."""
    name = type(module).__name__
    return any(name == prefix + suffix for prefix in LEAN_ARCHITECTURES)
