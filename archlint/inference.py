"""A best-effort config from tensor shapes alone, for a weights file with no config.json.

Only what shapes determine is filled in: vocab and hidden size (embedding), layer count
(largest layer index), projection widths and expert counts. Head counts are not visible in a
fused [heads × head_dim, hidden] matrix, so head_dim is assumed (128 when it divides both the
query and KV widths, else 64) and the report says so.
"""

from __future__ import annotations

import re
from typing import Any

from archlint.checkpoint import Checkpoint, TensorInfo
from archlint.dtypes import CODE_TO_TORCH_DTYPE
from archlint.tensors import tensor_index

_EXPERT = re.compile(r"experts\.(\d+)\.")


def _find(tensors: list[TensorInfo], *needles: str) -> TensorInfo | None:
    for needle in needles:
        for tensor in tensors:
            if needle in tensor.name and tensor.name.endswith(".weight") and len(tensor.shape) == 2:
                return tensor
    return None


def config_from_tensors(ckpt: Checkpoint) -> dict[str, Any]:
    tensors = ckpt.tensors or []
    config: dict[str, Any] = {"model_type": "unknown", "tie_word_embeddings": True}
    embed = _find(tensors, "embed_tokens", "wte", "word_embeddings", "tok_embeddings")
    if embed is not None:
        config["vocab_size"], config["hidden_size"] = embed.shape
    index = tensor_index(ckpt)
    layers = [n for n in index.layer_numbers if n is not None] if index is not None else []
    config["num_hidden_layers"] = max(layers) + 1 if layers else 0
    if any(t.name.startswith(("lm_head", "output.")) for t in tensors):
        config["tie_word_embeddings"] = False
    q, k = _find(tensors, "q_proj"), _find(tensors, "k_proj")
    if q is not None and k is not None:
        head_dim = 128 if q.shape[0] % 128 == 0 and k.shape[0] % 128 == 0 else 64
        config |= {
            "head_dim": head_dim,
            "num_attention_heads": q.shape[0] // head_dim,
            "num_key_value_heads": max(k.shape[0] // head_dim, 1),
        }
    experts = {int(m.group(1)) for t in tensors if (m := _EXPERT.search(t.name))}
    gate = _find(
        tensors,
        "experts.0.gate_proj",
        "experts.0.w1",
        "mlp.gate_proj",
        "mlp.up_proj",
        "c_fc",
        "dense_h_to_4h",
    )
    if gate is not None:
        width = gate.shape[0] if gate.shape[1] == config.get("hidden_size") else gate.shape[1]
        config["moe_intermediate_size" if experts else "intermediate_size"] = width
        config.setdefault("intermediate_size", width)
    if experts:
        config["num_experts"] = len(experts)
    dtypes = {t.dtype for t in tensors}
    for code in ("BF16", "F16", "F32"):  # the first of these stored
        if code in dtypes:
            config["torch_dtype"] = CODE_TO_TORCH_DTYPE[code]
            break
    return config
