#!/usr/bin/env python3
"""GGUF headers of hybrid models, written as llama.cpp's converter writes them, from real
Hugging Face configs; with transformers' own parameter count of each model beside them.

For each model below (config: a published config.json, or the published dimensions of one,
see `SOURCE`): transformers builds the model on the meta device (`AutoModelForCausalLM.
from_config`); its parameters, renamed and reshaped the way `convert_hf_to_gguf.py` renames
and reshapes them (Mamba2Model: conv1d squeezed to [channels, kernel], A_log → ssm_a and D →
ssm_d as [heads, 1], dt_bias → ssm_dt.bias, the gated norm as [groups, d_inner / groups];
fused expert and shared-MLP gate/up projections split in two; LFM2's short conv squeezed), are
the tensor infos; the metadata keys are the ones that converter class writes (per-layer
`attention.head_count_kv` with 0 on recurrent layers, nemotron_h's per-layer
`feed_forward_length`, `ssm.*`, `shortconv.l_cache`, `full_attention_interval`...). Weights are
BF16 and 1-D tensors F32 (a `--outtype bf16` conversion); the data section is sparse.

Writes `fixtures/gguf/hybrids/<name>.gguf.gz` (the header), `<name>.config.json` (the Hugging
Face config archlint reads for the same model) and `expected.json` (transformers' parameter
count; Qwen3-Next also its real checkpoint's tensor table total without the MTP block, which
llama.cpp does not convert). Needs torch, transformers and gguf (not archlint's runtime):

    .venv/bin/python scripts/make_gguf_hybrids.py
"""

from __future__ import annotations

import gzip
import json
import math
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fixtures" / "gguf" / "hybrids"
sys.path.insert(0, str(ROOT))

# granite-4.0-h-tiny: attention at layers 5, 15, 25, 35 of 40
_GRANITE_TYPES = (["mamba"] * 5 + ["attention"] + (["mamba"] * 9 + ["attention"]) * 3
                  + ["mamba"] * 4)

SOURCE: dict[str, dict[str, Any]] = {
    "granite-4.0-h-tiny": {
        "source": "ibm-granite/granite-4.0-h-tiny config.json as quoted (the keys sizing reads) "
                  "in a public test suite (GRANITE_H_TINY_HF); position_embedding_type 'nope' "
                  "as Granite-4.0-H is NoPE (IBM: 'do not rely on positional encoding')",
        "card": "7B total / 1B active (IBM Granite 4.0 docs)",
        "arch": "granitehybrid",
        "config": {
            "model_type": "granitemoehybrid", "architectures": ["GraniteMoeHybridForCausalLM"],
            "hidden_size": 1536, "num_hidden_layers": 40, "num_attention_heads": 12,
            "num_key_value_heads": 4, "intermediate_size": 512, "shared_intermediate_size": 1024,
            "num_local_experts": 64, "num_experts_per_tok": 6, "vocab_size": 100352,
            "tie_word_embeddings": True, "mamba_d_state": 128, "mamba_n_groups": 1,
            "mamba_n_heads": 48, "mamba_d_head": 64, "mamba_expand": 2, "mamba_d_conv": 4,
            "mamba_chunk_size": 256, "max_position_embeddings": 131072,
            "position_embedding_type": "nope", "layer_types": _GRANITE_TYPES,
            "torch_dtype": "bfloat16",
        },
    },
    "Nemotron-H-8B-Base-8K": {
        "source": "NVIDIA Megatron-Bridge docs, 'Nemotron H 8B Specifications' (52 layers, "
                  "pattern M-M-M-M*-…, hidden 4096, FFN 21504, 32 query heads / 8 KV groups, "
                  "KV channels 128, Mamba heads 128 × 64, state 128); the rest transformers' "
                  "NemotronHConfig defaults, which describe 'NemotronH-v0.1' (vocab 131072, "
                  "8 groups, conv 4)",
        "card": "8B (nvidia/Nemotron-H-8B-Base-8K)",
        "arch": "nemotron_h",
        "config": {
            "model_type": "nemotron_h", "architectures": ["NemotronHForCausalLM"],
            "hidden_size": 4096, "num_hidden_layers": 52, "intermediate_size": 21504,
            "hybrid_override_pattern":
                "M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-",
            "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
            "mamba_num_heads": 128, "mamba_head_dim": 64, "ssm_state_size": 128,
            "n_groups": 8, "conv_kernel": 4, "expand": 2, "vocab_size": 131072,
            "tie_word_embeddings": False, "max_position_embeddings": 8192,
            "use_conv_bias": True, "mamba_proj_bias": False, "mlp_bias": False,
            "attention_bias": False, "mlp_hidden_act": "relu2", "torch_dtype": "bfloat16",
        },
    },
    "Falcon-H1-0.5B": {
        "source": "Falcon-H1-0.5B's published dims: transformers' FalconH1 doc table (36 layers, "
                  "dim 1024, 8 attention heads, 2 KV, 24 Mamba heads, d_head 64/64, d_state "
                  "128) and a public preregistration's cache shapes for tiiuae/Falcon-H1-0.5B "
                  "(conv [1, 1792, 4] → d_ssm 1536 with one group; SSM [1, 24, 64, 128]); FFN "
                  "width, vocabulary and ties are transformers' FalconH1Config defaults",
        "card": None,
        "arch": "falcon-h1",
        "config": {
            "model_type": "falcon_h1", "architectures": ["FalconH1ForCausalLM"],
            "hidden_size": 1024, "num_hidden_layers": 36, "num_attention_heads": 8,
            "num_key_value_heads": 2, "head_dim": 64, "mamba_d_ssm": 1536, "mamba_n_heads": 24,
            "mamba_d_head": 64, "mamba_d_state": 128, "mamba_n_groups": 1, "mamba_d_conv": 4,
            "mamba_rms_norm": False, "intermediate_size": 14336, "vocab_size": 128000,
            "tie_word_embeddings": False, "max_position_embeddings": 16384,
            "torch_dtype": "bfloat16",
        },
    },
    "LFM2-700M": {
        "source": "fixtures/zoo/LiquidAI__LFM2-700M.json.gz (the published config.json; "
                  "provenance in fixtures/zoo/SOURCES.md)",
        "card": "742M parameters (LiquidAI/LFM2-700M model card)",
        "arch": "lfm2",
        "fixture": "fixtures/zoo/LiquidAI__LFM2-700M.json.gz",
    },
    "Qwen3-Next-80B-A3B-Instruct": {
        "source": "fixtures/models/Qwen__Qwen3-Next-80B-A3B-Instruct.json.gz (the published "
                  "config.json and tensor table)",
        "card": "80B total / 3B active",
        "arch": "qwen3next",
        "fixture": "fixtures/models/Qwen__Qwen3-Next-80B-A3B-Instruct.json.gz",
    },
}


def hf_config(name: str) -> dict[str, Any]:
    entry = SOURCE[name]
    if "fixture" in entry:
        return json.loads(gzip.decompress((ROOT / entry["fixture"]).read_bytes()))["config"]
    return dict(entry["config"])


def meta_parameters(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """transformers' parameters of the model (tied ones once), on the meta device."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    kwargs = {k: v for k, v in config.items() if k not in ("model_type", "architectures")}
    if "hybrid_override_pattern" in kwargs:  # transformers 5 reads the block list
        symbols = {"M": "mamba", "*": "attention", "-": "mlp", "E": "moe"}
        kwargs["layers_block_type"] = [symbols[c] for c in kwargs.pop("hybrid_override_pattern")]
    cfg = AutoConfig.for_model(config["model_type"], **kwargs)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(cfg)
    return {n: tuple(p.shape) for n, p in model.named_parameters()}


# -- HF names → GGUF names, as llama.cpp's tensor map renames them ------------------------------

#: suffix after `model.layers.N.` → GGUF part (regex, first match wins)
_LAYER_RENAMES: tuple[tuple[str, str], ...] = (
    (r"(?:mamba|mixer|linear_attn)\.in_proj_qkvz\.weight", "ssm_in.weight"),
    (r"linear_attn\.in_proj_ba\.weight", "ssm_ba.weight"),
    (r"(?:mamba|mixer|linear_attn)\.in_proj\.(weight|bias)", r"ssm_in.\1"),
    (r"(?:mamba|mixer|linear_attn)\.conv1d\.(weight|bias)", r"ssm_conv1d.\1"),
    (r"(?:mamba|mixer|linear_attn)\.dt_bias", "ssm_dt.bias"),
    (r"(?:mamba|mixer|linear_attn)\.A_log", "ssm_a"),
    (r"(?:mamba|mixer|linear_attn)\.D", "ssm_d"),
    (r"(?:mamba|mixer|linear_attn)\.norm\.weight", "ssm_norm.weight"),
    (r"(?:mamba|mixer|linear_attn)\.out_proj\.(weight|bias)", r"ssm_out.\1"),
    (r"(?:self_attn|mixer)\.q_proj\.(weight|bias)", r"attn_q.\1"),
    (r"(?:self_attn|mixer)\.k_proj\.(weight|bias)", r"attn_k.\1"),
    (r"(?:self_attn|mixer)\.v_proj\.(weight|bias)", r"attn_v.\1"),
    (r"(?:self_attn|mixer)\.o_proj\.(weight|bias)", r"attn_output.\1"),
    (r"self_attn\.out_proj\.weight", "attn_output.weight"),
    (r"self_attn\.(?:q_norm|q_layernorm)\.weight", "attn_q_norm.weight"),
    (r"self_attn\.(?:k_norm|k_layernorm)\.weight", "attn_k_norm.weight"),
    (r"conv\.conv\.weight", "shortconv.conv.weight"),
    (r"conv\.in_proj\.weight", "shortconv.in_proj.weight"),
    (r"conv\.out_proj\.weight", "shortconv.out_proj.weight"),
    (r"(?:input_layernorm|operator_norm|norm)\.weight", "attn_norm.weight"),
    (r"post_attention_layernorm\.weight", "{post}"),
    (r"(?:pre_ff_layernorm|ffn_norm)\.weight", "ffn_norm.weight"),
    (r"(?:block_sparse_moe\.router|mlp\.gate|mixer\.gate)\.weight", "ffn_gate_inp.weight"),
    (r"mixer\.gate\.e_score_correction_bias", "exp_probs_b.bias"),
    (r"(?:block_sparse_moe|mlp|mixer)\.experts\.gate_up_proj", "{gate_up_exps}"),
    (r"(?:block_sparse_moe|mlp|mixer)\.experts\.up_proj", "ffn_up_exps.weight"),
    (r"(?:block_sparse_moe|mlp|mixer)\.experts\.down_proj", "ffn_down_exps.weight"),
    (r"shared_mlp\.input_linear\.weight", "{shared_gate_up}"),
    (r"shared_mlp\.output_linear\.weight", "{shared_down}"),
    (r"(?:mlp|mixer)\.shared_experts?\.(gate|up|down)_proj\.weight", r"ffn_\1_shexp.weight"),
    (r"mlp\.shared_expert_gate\.weight", "ffn_gate_inp_shexp.weight"),
    (r"(?:feed_forward|mlp|mixer)\.(gate|up|down)_proj\.weight", r"ffn_\1.weight"),
    (r"feed_forward\.w1\.weight", "ffn_gate.weight"),
    (r"feed_forward\.w3\.weight", "ffn_up.weight"),
    (r"feed_forward\.w2\.weight", "ffn_down.weight"),
)
_TOP_RENAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.embeddings.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight", "model.norm_f.weight": "output_norm.weight",
    "model.final_layernorm.weight": "output_norm.weight",
    "model.embedding_norm.weight": "token_embd_norm.weight", "lm_head.weight": "output.weight",
}


def _reshape(part: str, shape: tuple[int, ...], config: dict[str, Any]) -> tuple[int, ...]:
    """The shape llama.cpp's converter stores (same elements, ggml's layout)."""
    if part.startswith(("ssm_conv1d.weight", "shortconv.conv.weight")) and len(shape) == 3:
        return (shape[0], shape[2])  # squeeze(1)
    if part in ("ssm_a", "ssm_d"):
        return (math.prod(shape), 1)
    if part == "ssm_norm.weight":
        groups = config.get("mamba_n_groups") or config.get("n_groups") or 1
        if config.get("model_type") == "qwen3_next":
            return shape
        return (groups, math.prod(shape) // groups)
    return shape


def gguf_tensors(config: dict[str, Any], params: dict[str, tuple[int, ...]]
                 ) -> list[tuple[str, tuple[int, ...]]]:
    experts = bool(config.get("num_local_experts"))
    post = "post_attention_norm.weight" if config["model_type"] == "qwen3_next" \
        else "ffn_norm.weight"
    rows: list[tuple[str, tuple[int, ...]]] = []
    for name, shape in params.items():
        if name in _TOP_RENAMES:
            rows.append((_TOP_RENAMES[name], shape))
            continue
        match = re.match(r"^model\.layers\.(\d+)\.(.+)$", name)
        if match is None:
            raise ValueError(f"unmapped tensor {name}")
        prefix, rest = f"blk.{match.group(1)}.", match.group(2)
        for pattern, target in _LAYER_RENAMES:
            hit = re.fullmatch(pattern, rest)
            if hit is None:
                continue
            part = hit.expand(target)
            if part == "{post}":
                rows.append((prefix + post, shape))
            elif part == "{gate_up_exps}":
                e, two_f, h = shape
                rows += [(prefix + "ffn_gate_exps.weight", (e, two_f // 2, h)),
                         (prefix + "ffn_up_exps.weight", (e, two_f // 2, h))]
            elif part == "{shared_gate_up}":
                suffix = "_shexp" if experts else ""
                rows += [(prefix + f"ffn_gate{suffix}.weight", (shape[0] // 2, shape[1])),
                         (prefix + f"ffn_up{suffix}.weight", (shape[0] // 2, shape[1]))]
            elif part == "{shared_down}":
                rows.append((prefix + ("ffn_down_shexp.weight" if experts
                                       else "ffn_down.weight"), shape))
            else:
                rows.append((prefix + part, _reshape(part, shape, config)))
            break
        else:
            raise ValueError(f"unmapped layer tensor {name}")
    return rows


# -- metadata, per converter class --------------------------------------------------------------

def _u32(v: int) -> tuple[Any, Any]:
    from gguf import GGUFValueType as V
    return (int(v), V.UINT32)


def _f32(v: float) -> tuple[Any, Any]:
    from gguf import GGUFValueType as V
    return (float(v), V.FLOAT32)


def _arr(values: list[int]) -> tuple[Any, Any, Any]:
    from gguf import GGUFValueType as V
    return ([int(v) for v in values], V.ARRAY, V.INT32)


def _common(arch: str, c: dict[str, Any], heads: int) -> dict[str, Any]:
    from gguf import GGUFValueType as V
    return {
        "general.name": (c.get("_name", arch), V.STRING),
        "general.file_type": _u32(32),  # MOSTLY_BF16
        f"{arch}.block_count": _u32(c["num_hidden_layers"]),
        f"{arch}.context_length": _u32(c.get("max_position_embeddings") or 4096),
        f"{arch}.embedding_length": _u32(c["hidden_size"]),
        f"{arch}.attention.head_count": _u32(heads),
        f"{arch}.attention.layer_norm_rms_epsilon": _f32(1e-5),
        f"{arch}.vocab_size": _u32(c["vocab_size"]),
    }


def metadata(name: str, c: dict[str, Any]) -> dict[str, Any]:
    arch = SOURCE[name]["arch"]
    a = f"{arch}."
    n = c["num_hidden_layers"]
    kv = _common(arch, c, c["num_attention_heads"])
    if arch == "granitehybrid":
        # GraniteMoeModel.set_gguf_parameters, then GraniteHybridModel's own keys
        inner = c["mamba_expand"] * c["hidden_size"]
        attn = [t == "attention" for t in c["layer_types"]]
        kv.update({
            a + "feed_forward_length": _u32(c["intermediate_size"]),
            a + "expert_count": _u32(c["num_local_experts"]),
            a + "expert_used_count": _u32(c["num_experts_per_tok"]),
            a + "expert_shared_feed_forward_length": _u32(c["shared_intermediate_size"]),
            a + "ssm.conv_kernel": _u32(c["mamba_d_conv"]),
            a + "ssm.state_size": _u32(c["mamba_d_state"]),
            a + "ssm.group_count": _u32(c["mamba_n_groups"]),
            a + "ssm.inner_size": _u32(inner),
            a + "ssm.time_step_rank": _u32(c["mamba_n_heads"]),
            a + "attention.head_count_kv": _arr([c["num_key_value_heads"] if x else 0
                                                  for x in attn]),
            a + "rope.scaling.finetuned": (False, __import__("gguf").GGUFValueType.BOOL),
        })
    elif arch == "nemotron_h":
        pattern = c["hybrid_override_pattern"]
        kv.update({
            a + "attention.head_count_kv": _arr([c["num_key_value_heads"] if p == "*" else 0
                                                  for p in pattern]),
            a + "attention.key_length": _u32(c["head_dim"]),
            a + "attention.value_length": _u32(c["head_dim"]),
            a + "feed_forward_length": _arr([c["intermediate_size"] if p == "-" else 0
                                              for p in pattern]),
            a + "ssm.conv_kernel": _u32(c["conv_kernel"]),
            a + "ssm.state_size": _u32(c["ssm_state_size"]),
            a + "ssm.group_count": _u32(c["n_groups"]),
            a + "ssm.inner_size": _u32(c["mamba_num_heads"] * c["mamba_head_dim"]),
            a + "ssm.time_step_rank": _u32(c["mamba_num_heads"]),
        })
    elif arch == "falcon-h1":
        kv.update({
            a + "attention.head_count_kv": _u32(c["num_key_value_heads"]),
            a + "attention.key_length": _u32(c["head_dim"]),
            a + "attention.value_length": _u32(c["head_dim"]),
            a + "feed_forward_length": _u32(c["intermediate_size"]),
            a + "ssm.conv_kernel": _u32(c["mamba_d_conv"]),
            a + "ssm.state_size": _u32(c["mamba_d_state"]),
            a + "ssm.group_count": _u32(c["mamba_n_groups"]),
            a + "ssm.inner_size": _u32(c["mamba_d_ssm"]),
            a + "ssm.time_step_rank": _u32(c["mamba_d_ssm"] // c["mamba_d_head"]),
            a + "rope.freq_base": _f32(c.get("rope_theta", 1e11)),
        })
    elif arch == "lfm2":
        idxs = c["full_attn_idxs"]
        ff = int(2 * c["block_ff_dim"] / 3)  # LFM2Model._add_feed_forward_length
        ff = int(c["block_ffn_dim_multiplier"] * ff)
        multiple = c["block_multiple_of"]
        ff = multiple * ((ff + multiple - 1) // multiple)
        kv.update({
            a + "attention.head_count_kv": _arr([c["num_key_value_heads"] if i in idxs else 0
                                                  for i in range(n)]),
            a + "feed_forward_length": _u32(ff),
            a + "shortconv.l_cache": _u32(c["conv_L_cache"]),
            a + "rope.freq_base": _f32(c["rope_theta"]),
        })
    elif arch == "qwen3next":
        # Qwen3MoeModel's keys, then Qwen3NextModel.set_gguf_parameters
        kv.update({
            a + "attention.head_count_kv": _u32(c["num_key_value_heads"]),
            a + "attention.key_length": _u32(c["head_dim"]),
            a + "attention.value_length": _u32(c["head_dim"]),
            a + "feed_forward_length": _u32(c["intermediate_size"]),
            a + "expert_count": _u32(c["num_experts"]),
            a + "expert_used_count": _u32(c["num_experts_per_tok"]),
            a + "expert_feed_forward_length": _u32(c["moe_intermediate_size"]),
            a + "expert_shared_feed_forward_length": _u32(c["shared_expert_intermediate_size"]),
            a + "ssm.conv_kernel": _u32(c["linear_conv_kernel_dim"]),
            a + "ssm.state_size": _u32(c["linear_key_head_dim"]),
            a + "ssm.group_count": _u32(c["linear_num_key_heads"]),
            a + "ssm.time_step_rank": _u32(c["linear_num_value_heads"]),
            a + "ssm.inner_size": _u32(c["linear_value_head_dim"] * c["linear_num_value_heads"]),
            a + "full_attention_interval": _u32(c["full_attention_interval"]),
            a + "rope.dimension_count": _u32(int(c["head_dim"] * c["partial_rotary_factor"])),
            a + "rope.freq_base": _f32(c["rope_theta"]),
        })
    return kv


def build(name: str) -> tuple[bytes, int, dict[str, Any]]:
    """(header bytes, file size, expected figures) of one model's GGUF."""
    from gguf import GGMLQuantizationType as Q
    from gguf import GGUFReader

    from tests.gguf_files import write_gguf

    config = hf_config(name)
    params = meta_parameters(config)
    rows = [(n, s, Q.F32 if len(s) == 1 or n.endswith(("ssm_a", "ssm_d")) else Q.BF16)
            for n, s in gguf_tensors(config, params)]
    kv = metadata(name, {**config, "_name": name})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.gguf"
        size = write_gguf(path, SOURCE[name]["arch"], kv, rows)
        data_offset = GGUFReader(path).data_offset  # gguf-py's own reading of the header
        with open(path, "rb") as fh:
            head = fh.read(data_offset)
    expected: dict[str, Any] = {
        "source": SOURCE[name]["source"], "card": SOURCE[name]["card"],
        "arch": SOURCE[name]["arch"], "file_size": size,
        "transformers_params": sum(math.prod(s) for s in params.values()),
        "gguf_tensors": len(rows),
    }
    if "fixture" in SOURCE[name]:
        table = json.loads(gzip.decompress((ROOT / SOURCE[name]["fixture"]).read_bytes()))
        tensors = table.get("tensors") or []
        if tensors:
            expected["checkpoint_params_without_mtp"] = sum(
                math.prod(t[2]) for t in tensors if not t[0].startswith("mtp."))
    return head, size, expected


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name in SOURCE:
        head, _size, expected = build(name)
        (OUT / f"{name}.gguf.gz").write_bytes(gzip.compress(head, compresslevel=9, mtime=0))
        (OUT / f"{name}.config.json").write_text(json.dumps(hf_config(name), indent=1) + "\n")
        manifest[name] = expected
        print(f"{name}: {expected['gguf_tensors']} tensors, header {len(head)} B, "
              f"transformers {expected['transformers_params']:,} params")
    (OUT / "expected.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
