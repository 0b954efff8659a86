#!/usr/bin/env python3
"""Rebuild the headers of real GGUF files from what public llama.cpp load logs print.

A llama.cpp load log prints every metadata key/value (`llama_model_loader: - kv N: key type
= value`), the count of tensors of each ggml type (`- type q4_K: 193 tensors`), and then its
own figures: `model params`, `file size`/`model size … (… BPW)`, and for a context of n_ctx
cells `KV self size = … MiB, K (f16): …, V (f16): …`. SOURCES below quotes those lines with the
address of the public issue they come from. This script writes, with gguf-py's own writer:

- the metadata keys the log shows (the tokenizer's strings are placeholders: only the
  array's length is read);
- the tensor infos llama.cpp's converter writes for that architecture (names and shapes from
  the metadata), each in the type that llama.cpp's Q4_K_M recipe gives it (Q6_K for
  attn_v/ffn_down on the layers `use_more_bits` picks and for the output, F32 for norms and
  the MoE router, Q4_K for the rest). The type counts this produces must equal the log's
  `- type` lines (the test checks it), which is what ties the table to the real file.

Each header is stored gzipped with the file size it stands for (`fixtures/gguf/*.gguf.gz`,
`SOURCES.json`); tests expand it into a sparse file. Re-run after changing SOURCES:

    python scripts/make_gguf_fixtures.py
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fixtures" / "gguf"

SOURCES: dict[str, dict[str, Any]] = {
    "llava-v1.5-7b-Q4_K": {
        "url": "https://github.com/jazzwang/snippet (llamafile notes, 2024-10-25: the load log "
               "of llava-v1.5-7b-Q4_K.gguf, a Llama-2-7B language model)",
        "quoted": [
            "llama_model_loader: loaded meta data with 19 key-value pairs and 291 tensors from "
            "llava-v1.5-7b-Q4_K.gguf (version GGUF V3 (latest))",
            "llama_model_loader: - kv  12: tokenizer.ggml.tokens arr[str,32000]",
            "llama_model_loader: - type  f32:   65 tensors",
            "llama_model_loader: - type q4_K:  193 tensors",
            "llama_model_loader: - type q6_K:   33 tensors",
            "llm_load_print_meta: model ftype      = Q4_K - Medium",
            "llm_load_print_meta: model params     = 6.74 B",
            "llm_load_print_meta: model size       = 3.80 GiB (4.84 BPW)",
            "llm_load_tensors:        CPU buffer size =  3891.24 MiB",
            "llama_new_context_with_model: n_ctx      = 2048",
            "llama_new_context_with_model: KV self size  = 1024.00 MiB, K (f16):  512.00 MiB, "
            "V (f16):  512.00 MiB",
        ],
        "expect": {"params_b": 6.74, "size_gib": 3.80, "bpw": 4.84, "buffer_mib": 3891.24,
                   "n_ctx": 2048, "kv_mib": 1024.00, "k_mib": 512.00, "v_mib": 512.00,
                   "tensors": 291, "types": {"F32": 65, "Q4_K": 193, "Q6_K": 33}},
        "arch": "llama",
        "kv": {"general.name": ("LLaMA v2", V.STRING), "general.file_type": (15, V.UINT32),
               "llama.context_length": (4096, V.UINT32),
               "llama.embedding_length": (4096, V.UINT32),
               "llama.block_count": (32, V.UINT32),
               "llama.feed_forward_length": (11008, V.UINT32),
               "llama.rope.dimension_count": (128, V.UINT32),
               "llama.attention.head_count": (32, V.UINT32),
               "llama.attention.head_count_kv": (32, V.UINT32),
               "llama.attention.layer_norm_rms_epsilon": (1e-5, V.FLOAT32),
               "tokenizer.ggml.model": ("llama", V.STRING),
               "tokenizer.ggml.bos_token_id": (1, V.UINT32),
               "tokenizer.ggml.eos_token_id": (2, V.UINT32),
               "tokenizer.ggml.padding_token_id": (0, V.UINT32),
               "general.quantization_version": (2, V.UINT32)},
        "vocab": 32000,
        "shape": {"layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 32, "head_dim": 128,
                  "ffn": 11008, "tied": False},
    },
    "Qwen3-30B-A3B.Q4_K_M": {
        "url": "https://github.com/ggml-org/llama.cpp/issues/14235 (type lines, file size, "
               "hparams) and https://github.com/ollama/ollama/issues/11577 (the same model's "
               "qwen3moe key/values)",
        "quoted": [
            "llama_model_loader: - type  f32:  241 tensors",
            "llama_model_loader: - type q4_K:  289 tensors",
            "llama_model_loader: - type q6_K:   49 tensors",
            "print_info: file type   = Q4_K - Medium",
            "print_info: file size   = 17.28 GiB (4.86 BPW)",
            "print_info: n_embd = 2048, n_layer = 48, n_head = 32, n_head_kv = 4, "
            "n_embd_head_k = 128, n_ff = 6144, n_expert = 128, n_expert_used = 8",
            "qwen3moe.expert_feed_forward_length u32 = 768; tokenizer.ggml.tokens "
            "arr[str,151936]",
        ],
        "expect": {"size_gib": 17.28, "bpw": 4.86, "tensors": 579,
                   "types": {"F32": 241, "Q4_K": 289, "Q6_K": 49}},
        "arch": "qwen3moe",
        "kv": {"general.file_type": (15, V.UINT32),
               "qwen3moe.context_length": (40960, V.UINT32),
               "qwen3moe.embedding_length": (2048, V.UINT32),
               "qwen3moe.block_count": (48, V.UINT32),
               "qwen3moe.feed_forward_length": (6144, V.UINT32),
               "qwen3moe.attention.head_count": (32, V.UINT32),
               "qwen3moe.attention.head_count_kv": (4, V.UINT32),
               "qwen3moe.rope.freq_base": (1000000.0, V.FLOAT32),
               "qwen3moe.attention.layer_norm_rms_epsilon": (1e-6, V.FLOAT32),
               "qwen3moe.expert_used_count": (8, V.UINT32),
               "qwen3moe.attention.key_length": (128, V.UINT32),
               "qwen3moe.attention.value_length": (128, V.UINT32),
               "qwen3moe.expert_count": (128, V.UINT32),
               "qwen3moe.expert_feed_forward_length": (768, V.UINT32),
               "tokenizer.ggml.model": ("gpt2", V.STRING)},
        "vocab": 151936,
        "shape": {"layers": 48, "hidden": 2048, "heads": 32, "kv_heads": 4, "head_dim": 128,
                  "experts": 128, "expert_ffn": 768, "tied": False, "qk_norm": True},
    },
}


def use_more_bits(i: int, n: int) -> bool:
    """llama.cpp's Q4_K_M recipe raises attn_v and ffn_down to Q6_K on the first and last
    eighth of the layers and every third layer between them (`use_more_bits`)."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def tensors(spec: dict[str, Any], vocab: int) -> list[tuple[str, tuple[int, ...], Q]]:
    s = spec
    n, h, hd = s["layers"], s["hidden"], s["head_dim"]
    q_out, kv_out = s["heads"] * hd, s["kv_heads"] * hd
    rows: list[tuple[str, tuple[int, ...], Q]] = [("token_embd.weight", (vocab, h), Q.Q4_K)]
    for i in range(n):
        more = Q.Q6_K if use_more_bits(i, n) else Q.Q4_K
        p = f"blk.{i}."
        rows += [(p + "attn_norm.weight", (h,), Q.F32),
                 (p + "attn_q.weight", (q_out, h), Q.Q4_K),
                 (p + "attn_k.weight", (kv_out, h), Q.Q4_K),
                 (p + "attn_v.weight", (kv_out, h), more),
                 (p + "attn_output.weight", (h, q_out), Q.Q4_K)]
        if s.get("qk_norm"):
            rows += [(p + "attn_q_norm.weight", (hd,), Q.F32),
                     (p + "attn_k_norm.weight", (hd,), Q.F32)]
        rows.append((p + "ffn_norm.weight", (h,), Q.F32))
        if "experts" in s:
            e, f = s["experts"], s["expert_ffn"]
            rows += [(p + "ffn_gate_inp.weight", (e, h), Q.F32),
                     (p + "ffn_gate_exps.weight", (e, f, h), Q.Q4_K),
                     (p + "ffn_up_exps.weight", (e, f, h), Q.Q4_K),
                     (p + "ffn_down_exps.weight", (e, h, f), more)]
        else:
            f = s["ffn"]
            rows += [(p + "ffn_gate.weight", (f, h), Q.Q4_K),
                     (p + "ffn_up.weight", (f, h), Q.Q4_K),
                     (p + "ffn_down.weight", (h, f), more)]
    rows.append(("output_norm.weight", (h,), Q.F32))
    if not s["tied"]:
        rows.append(("output.weight", (vocab, h), Q.Q6_K))
    return rows


def _nbytes(shape: tuple[int, ...], qtype: Q) -> int:
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    return int(np.prod(shape)) // block * size


def build(name: str) -> tuple[bytes, int]:
    """(header bytes, file size) of one fixture, written by gguf-py's writer."""
    src = SOURCES[name]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.gguf"
        writer = gguf.GGUFWriter(path, src["arch"])
        for key, (value, vtype) in src["kv"].items():
            writer.add_key_value(key, value, vtype)
        writer.add_key_value("tokenizer.ggml.tokens", [f"t{i}" for i in range(src["vocab"])],
                             V.ARRAY, sub_type=V.STRING)
        total = 0
        for tname, shape, qtype in tensors(src["shape"], src["vocab"]):
            nbytes = _nbytes(shape, qtype)
            writer.add_tensor_info(tname, shape, np.dtype(np.float32), nbytes, raw_dtype=qtype)
            total += -(-nbytes // 32) * 32
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        header_end = writer.fout[0].tell()  # type: ignore[index]
        writer.close()
        data = path.read_bytes()
    data_offset = -(-header_end // 32) * 32
    return data[:data_offset], data_offset + total


def expand(name: str, directory: Path) -> Path:
    """The fixture as a sparse GGUF file in `directory` (header + zero data region)."""
    meta = json.loads((OUT / "SOURCES.json").read_text())[name]
    path = directory / f"{name}.gguf"
    path.write_bytes(gzip.decompress((OUT / f"{name}.gguf.gz").read_bytes()))
    os.truncate(path, meta["file_size"])
    return path


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, src in SOURCES.items():
        head, size = build(name)
        (OUT / f"{name}.gguf.gz").write_bytes(gzip.compress(head, compresslevel=9, mtime=0))
        manifest[name] = {"url": src["url"], "quoted": src["quoted"], "expect": src["expect"],
                          "file_size": size, "header_bytes": len(head)}
    (OUT / "SOURCES.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(SOURCES)} headers to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
