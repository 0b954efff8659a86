"""Real GGUF files for the tests, written by llama.cpp's own writer (`gguf.GGUFWriter`).

Header-only: metadata and tensor infos are written as the writer writes them; the data
section is left sparse (the file is extended to its full size with `truncate`), so a
full-size model costs a few kilobytes of disk. The writer computes the offsets from the byte
sizes we give it: `gguf.quants.quant_shape_to_byte_shape` and `GGML_QUANT_SIZES` are the
writer's own size rules, independent of archlint's table.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V

ALIGN = gguf.GGUF_DEFAULT_ALIGNMENT


def nbytes_of(shape: tuple[int, ...], qtype: Q) -> int:
    """Bytes of a tensor per gguf-py's own size table (the writer's rule)."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    numel = int(np.prod(shape)) if shape else 1
    assert numel % block == 0
    return numel // block * size


def write_gguf(path: Path, arch: str, kv: dict[str, tuple[Any, V] | tuple[Any, V, V]],
               tensors: Iterable[tuple[str, tuple[int, ...], Q]], *,
               alignment: int | None = None) -> int:
    """Write a header-only GGUF file at `path`; return its size (data section sparse).

    `kv`: key → (value, type) or (list, ARRAY, item type); `tensors`: (name, PyTorch-order
    shape, ggml type)."""
    writer = gguf.GGUFWriter(path, arch)
    if alignment is not None:
        writer.add_uint32("general.alignment", alignment)
        writer.data_alignment = alignment
    for key, spec in kv.items():
        if len(spec) == 3:
            value, vtype, sub = spec  # type: ignore[misc]
            writer.add_key_value(key, value, vtype, sub_type=sub)
        else:
            value, vtype = spec  # type: ignore[misc]
            writer.add_key_value(key, value, vtype)
    total = 0
    align = alignment or ALIGN
    for name, shape, qtype in tensors:
        nbytes = nbytes_of(shape, qtype)
        writer.add_tensor_info(name, shape, np.dtype(np.float32), nbytes, raw_dtype=qtype)
        total += -(-nbytes // align) * align
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    fout = writer.fout[0]  # type: ignore[index]
    header = fout.tell()
    writer.close()
    data_offset = -(-header // align) * align
    size = data_offset + total
    os.truncate(path, size)
    return size


def llama_kv(arch: str = "llama", *, layers: int, hidden: int, heads: int, kv_heads: int,
             ffn: int, vocab: int | None = None, context: int = 8192,
             file_type: int = 15, tokens: int | None = None,
             token_len: int = 0) -> dict[str, Any]:
    """The keys `convert_hf_to_gguf.py` writes for a Llama-like model (`tokens` of at least
    `token_len` characters)."""
    kv: dict[str, Any] = {
        "general.name": ("test", V.STRING),
        "general.file_type": (file_type, V.UINT32),
        f"{arch}.block_count": (layers, V.UINT32),
        f"{arch}.embedding_length": (hidden, V.UINT32),
        f"{arch}.feed_forward_length": (ffn, V.UINT32),
        f"{arch}.context_length": (context, V.UINT32),
        f"{arch}.attention.head_count": (heads, V.UINT32),
        f"{arch}.attention.head_count_kv": (kv_heads, V.UINT32),
        f"{arch}.attention.layer_norm_rms_epsilon": (1e-5, V.FLOAT32),
        f"{arch}.rope.freq_base": (500000.0, V.FLOAT32),
        f"{arch}.rope.dimension_count": (hidden // heads, V.UINT32),
    }
    if vocab is not None:
        kv[f"{arch}.vocab_size"] = (vocab, V.UINT32)
    if tokens is not None:
        kv["tokenizer.ggml.model"] = ("gpt2", V.STRING)
        kv["tokenizer.ggml.tokens"] = ([f"t{i}".ljust(token_len, "x") for i in range(tokens)],
                                       V.ARRAY, V.STRING)
    return kv


def llama_tensors(*, layers: int, hidden: int, heads: int, kv_heads: int, ffn: int,
                  vocab: int, quant: Q = Q.Q4_K, attn_v: Q = Q.Q6_K, down: Q = Q.Q6_K,
                  tied: bool = False, head_dim: int | None = None
                  ) -> list[tuple[str, tuple[int, ...], Q]]:
    """Tensor infos of a Llama-like GGUF (PyTorch-order shapes), Q4_K_M-like by default:
    attn_v and ffn_down in Q6_K, norms F32, embeddings Q4_K, output Q6_K (llama.cpp's
    `llama_tensor_get_type` raises those for the _M mix)."""
    hd = head_dim or hidden // heads
    rows: list[tuple[str, tuple[int, ...], Q]] = [("token_embd.weight", (vocab, hidden), quant)]
    for i in range(layers):
        rows += [
            (f"blk.{i}.attn_norm.weight", (hidden,), Q.F32),
            (f"blk.{i}.attn_q.weight", (heads * hd, hidden), quant),
            (f"blk.{i}.attn_k.weight", (kv_heads * hd, hidden), quant),
            (f"blk.{i}.attn_v.weight", (kv_heads * hd, hidden), attn_v),
            (f"blk.{i}.attn_output.weight", (hidden, heads * hd), quant),
            (f"blk.{i}.ffn_norm.weight", (hidden,), Q.F32),
            (f"blk.{i}.ffn_gate.weight", (ffn, hidden), quant),
            (f"blk.{i}.ffn_up.weight", (ffn, hidden), quant),
            (f"blk.{i}.ffn_down.weight", (hidden, ffn), down),
        ]
    rows.append(("output_norm.weight", (hidden,), Q.F32))
    if not tied:
        rows.append(("output.weight", (vocab, hidden), Q.Q6_K))
    return rows
