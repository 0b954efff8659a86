#!/usr/bin/env python3
"""Write fixtures/planted/tiny-llama: a model repo with deliberately planted defects.

A tiny Llama (hidden 64, 4 query / 2 KV heads of 16, FFN 128, vocab 256) saved the way
`save_pretrained` shards it: config.json, two real .safetensors shards (zero-filled tensors,
every byte covered), model.safetensors.index.json, and an archlint.toml declaring a spec.
Each defect below is planted on purpose and listed, with the finding it must produce, in
fixtures/planted/EXPECTED.json; a test lints the repo and requires exactly those findings.

    python scripts/make_planted_repo.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archlint.checkpoint import TensorInfo  # noqa: E402
from archlint.source.safetensors_header import encode_header  # noqa: E402

OUT = ROOT / "fixtures" / "planted"
REPO = OUT / "tiny-llama"
SHARD1 = "model-00001-of-00002.safetensors"
SHARD2 = "model-00002-of-00002.safetensors"

HIDDEN, HEADS, KV, HEAD_DIM, FFN, VOCAB = 64, 4, 2, 16, 128, 256
STORED_LAYERS = 2

#: (code, message id, what was planted) — the findings the lint must report, and no others.
PLANTED = [
    ("AL101", "missing-layers", "config declares 3 layers; only layers 0 and 1 are stored"),
    ("AL111", "tied-but-stored", "tie_word_embeddings is true but lm_head.weight is stored"),
    ("AL402", "mismatch", "torch_dtype float16 over bfloat16 weights"),
    ("AL202", "disabled", "sliding_window 4096 with use_sliding_window false"),
    ("AL401", "stray-fp32", "model.layers.1.mlp.down_proj.weight stored as F32"),
    ("AL014", "problem", "index metadata.total_size is 64 bytes more than the shards hold"),
    ("AL011", "problem", "index maps model.norm.weight to shard 1; it is in shard 2"),
    ("AL502", "differs", "archlint.toml declares 4 KV heads; the model has 2"),
    ("AL507", "short", "archlint.toml declares an 8192-token context; max_position 4096"),
    # A consequence of the first two plants: per layer q 4096 + k 2048 + v 2048 + o 4096 +
    # FFN 3 × 8192 + 2 norms × 64 = 36,992. The config describes 3 layers + embedding 16,384 +
    # final norm 64, tied = 127,424; the tensors hold 2 layers + embedding + norm + a stored
    # head of 16,384 = 106,816: a drift of -20,608.
    ("AL112", "drift", "config-derived parameter count is 20,608 above the tensors' (-20,608)"),
]

CONFIG_TEXT = """{
  "architectures": [
    "LlamaForCausalLM"
  ],
  "model_type": "llama",
  "hidden_size": 64,
  "intermediate_size": 128,
  "num_hidden_layers": 3,
  "num_attention_heads": 4,
  "num_key_value_heads": 2,
  "head_dim": 16,
  "vocab_size": 256,
  "max_position_embeddings": 4096,
  "rope_theta": 500000.0,
  "rms_norm_eps": 1e-05,
  "hidden_act": "silu",
  "use_sliding_window": false,
  "sliding_window": 4096,
  "tie_word_embeddings": true,
  "torch_dtype": "float16"
}
"""

ARCHLINT_TOML = """# Lint settings and the spec this repo promises (scripts/make_planted_repo.py).
fail-on = "warning"
options = { mixed-dtypes = { min_wasted_bytes = 0 } }

[spec]
attention = "gqa"
kv_heads = 4
context = 8192
max_active_params = "1M"
fits = { gpu = "H100", batch = 8, context = 4096 }
"""


def tensors() -> list[tuple[str, str, tuple[int, ...], str]]:
    """(name, dtype, shape, shard): transformers' LlamaForCausalLM layout, [out, in]."""
    rows: list[tuple[str, str, tuple[int, ...], str]] = [
        ("model.embed_tokens.weight", "BF16", (VOCAB, HIDDEN), SHARD1)
    ]
    for i in range(STORED_LAYERS):
        shard = SHARD1 if i == 0 else SHARD2
        p = f"model.layers.{i}."
        down_dtype = "F32" if i == 1 else "BF16"  # planted: the stray fp32 tensor
        rows += [
            (p + "input_layernorm.weight", "BF16", (HIDDEN,), shard),
            (p + "self_attn.q_proj.weight", "BF16", (HEADS * HEAD_DIM, HIDDEN), shard),
            (p + "self_attn.k_proj.weight", "BF16", (KV * HEAD_DIM, HIDDEN), shard),
            (p + "self_attn.v_proj.weight", "BF16", (KV * HEAD_DIM, HIDDEN), shard),
            (p + "self_attn.o_proj.weight", "BF16", (HIDDEN, HEADS * HEAD_DIM), shard),
            (p + "post_attention_layernorm.weight", "BF16", (HIDDEN,), shard),
            (p + "mlp.gate_proj.weight", "BF16", (FFN, HIDDEN), shard),
            (p + "mlp.up_proj.weight", "BF16", (FFN, HIDDEN), shard),
            (p + "mlp.down_proj.weight", down_dtype, (HIDDEN, FFN), shard),
        ]
    rows += [
        ("model.norm.weight", "BF16", (HIDDEN,), SHARD2),
        ("lm_head.weight", "BF16", (VOCAB, HIDDEN), SHARD2),
    ]  # planted: tied, yet stored
    return rows


def write_shard(path: Path, rows: list[tuple[str, str, tuple[int, ...]]]) -> int:
    """A complete safetensors file of zero-filled tensors; returns the data bytes."""
    head, placed = encode_header([TensorInfo(n, d, s) for n, d, s in rows], {"format": "pt"})
    size = placed[-1].end or 0
    path.write_bytes(head + bytes(size))
    return size


def main(out: Path = OUT) -> None:
    """Write the repo under `out` (default fixtures/planted)."""
    repo = out / REPO.name
    repo.mkdir(parents=True, exist_ok=True)
    rows = tensors()
    total = 0
    weight_map: dict[str, str] = {}
    for shard in (SHARD1, SHARD2):
        mine = [(n, d, s) for n, d, s, sh in rows if sh == shard]
        total += write_shard(repo / shard, mine)
        weight_map.update({n: shard for n, _, _ in mine})
    weight_map["model.norm.weight"] = SHARD1  # planted: the index points at the wrong shard
    index = {
        "metadata": {"total_size": total + 64},  # planted: 64 bytes too many
        "weight_map": dict(sorted(weight_map.items())),
    }
    (repo / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    (repo / "config.json").write_text(CONFIG_TEXT)
    (repo / "archlint.toml").write_text(ARCHLINT_TOML)
    expected = [{"code": c, "message_id": m, "planted": why} for c, m, why in PLANTED]
    (out / "EXPECTED.json").write_text(
        json.dumps({"repo": repo.name, "findings": expected}, indent=1) + "\n"
    )
    print(f"wrote {repo} ({total} bytes of tensors)")


if __name__ == "__main__":
    main()
