"""Shape helpers for the config ⇄ weights rules (the names themselves are classified in
`archlint.tensors`, which every rule reads through `ctx.tensors`).

Hugging Face `nn.Linear` weights are stored `[out, in]`; GPT-2's `Conv1D` (c_attn, c_fc,
c_proj in `modeling_gpt2.py`) stores `[in, out]`. Fused expert tensors (gpt-oss, Llama 4) are
`[E, in, out]` in bf16 and `[E, out, in/32, 16]` as MXFP4 `_blocks` (two fp4 per byte, 32
values per block). Packed integer tensors (GPTQ `qweight`, bitsandbytes U8) have no logical
shape here and are skipped by the shape checks.
"""

from __future__ import annotations

from archlint.checkpoint import TensorInfo
from archlint.tensors import is_conv1d_name

#: Dtypes whose stored shape is not the logical one (packed integers).
PACKED_DTYPES = frozenset({"U8", "I32", "U32", "I8", "I16", "U16"})


def out_in(tensor: TensorInfo, conv1d: bool = False) -> tuple[int, int] | None:
    """(out_features, in_features) of a 2-D linear weight, None when packed or not 2-D.
    `conv1d`: the model is GPT-2, whose c_attn/c_fc/c_proj are Conv1D ([in, out]); other
    families reuse those names for nn.Linear (StarCoder2, GPTBigCode)."""
    if len(tensor.shape) != 2 or tensor.dtype in PACKED_DTYPES:
        return None
    rows, cols = tensor.shape
    if conv1d and is_conv1d_name(tensor.name):
        return cols, rows
    return rows, cols


def fused_expert_dims(tensor: TensorInfo) -> tuple[int, int, int] | None:
    """(experts, out, in) of a fused expert tensor: `[E, out, in/32, 16]` MXFP4 blocks or
    `[E, in, out]` unquantized (gpt-oss / Llama 4 modeling code multiplies x @ W); GGUF's
    stacked `*_exps` tensors are `[E, out, in]` (ggml ne reversed)."""
    shape = tensor.shape
    if tensor.name.endswith("_exps.weight") and len(shape) == 3:
        return shape[0], shape[1], shape[2]
    if tensor.name.endswith("_blocks") and len(shape) == 4:
        return shape[0], shape[1], shape[2] * shape[3] * 2
    if len(shape) == 3 and tensor.dtype not in PACKED_DTYPES:
        return shape[0], shape[2], shape[1]
    return None


def layer_span(indices: list[int]) -> str:
    """`[0, 1, 2, 5]` → `0-2, 5` (for messages about many layers)."""
    if not indices:
        return ""
    indices = sorted(indices)
    parts: list[str] = []
    start = prev = indices[0]
    for i in [*indices[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ", ".join(parts)
