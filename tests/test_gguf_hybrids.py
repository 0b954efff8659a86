"""Hybrid models read from GGUF as from their Hugging Face config (scripts/make_gguf_hybrids.py,
fixtures/gguf/hybrids): headers written as llama.cpp's converter writes them (its metadata
keys, its tensor names and shapes), from real configs. Each GGUF report must agree with the
report of the same model's config.json, layer by layer, and with figures from outside
archlint: transformers' own parameter count on the meta device (`expected.json`), the real
checkpoint's tensor table, and the KV cache and recurrent state worked out by hand below."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V

from archlint.api import Analysis, analyze
from tests.gguf_files import write_gguf

ROOT = Path(__file__).resolve().parents[1]
HYBRIDS = ROOT / "fixtures" / "gguf" / "hybrids"
EXPECTED: dict[str, dict[str, Any]] = json.loads((HYBRIDS / "expected.json").read_text())


def _expand(name: str, directory: Path) -> Path:
    path = directory / f"{name}.gguf"
    path.write_bytes(gzip.decompress((HYBRIDS / f"{name}.gguf.gz").read_bytes()))
    os.truncate(path, EXPECTED[name]["file_size"])
    return path


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Analysis, Analysis]]:
    """name → (analysis of the GGUF file, analysis of the config.json directory)."""
    tmp = tmp_path_factory.mktemp("hybrids")
    out = {}
    for name in EXPECTED:
        config_dir = tmp / name
        config_dir.mkdir()
        (config_dir / "config.json").write_text((HYBRIDS / f"{name}.config.json").read_text())
        out[name] = (analyze(str(_expand(name, tmp))), analyze(str(config_dir)))
    return out


def _layer(layer: Any) -> tuple[Any, ...]:
    att, ffn = layer.attention, layer.ffn
    linear = att.linear.model_dump() if att.linear is not None else None
    parallel = layer.parallel_mixer.linear.model_dump() if layer.parallel_mixer else None
    return (att.kind, att.num_heads, att.num_kv_heads, att.head_dim, att.positional, linear,
            parallel, ffn.kind, ffn.intermediate_size, ffn.num_experts, ffn.experts_per_token,
            ffn.expert_intermediate_size, ffn.shared_intermediate_size, layer.norms)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_same_layers_as_the_config(pairs: dict[str, tuple[Analysis, Analysis]],
                                   name: str) -> None:
    gguf, hf = pairs[name]
    assert gguf.spec.family == hf.spec.family and gguf.spec.known_family
    assert gguf.spec.num_layers == hf.spec.num_layers
    assert [_layer(x) for x in gguf.spec.layers] == [_layer(x) for x in hf.spec.layers]
    assert not [n for n in gguf.checkpoint.notes if "not translated" in n]
    # the same understanding of the keys (Nemotron-H's adapter leaves num_hidden_layers
    # unread in both: it counts the block pattern)
    assert gguf.spec.coverage.unknown_keys == hf.spec.coverage.unknown_keys


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parameters_are_transformers(pairs: dict[str, tuple[Analysis, Analysis]],
                                     name: str) -> None:
    """The GGUF's tensors, the spec read from its metadata and the spec read from the
    config.json all count transformers' parameters of the model."""
    gguf, hf = pairs[name]
    expected = EXPECTED[name]["transformers_params"]
    assert gguf.profile.params.method == "tensors"
    assert gguf.profile.params.total == expected
    assert gguf.profile.params_from_config.total == expected
    assert hf.profile.params.total == expected
    if "checkpoint_params_without_mtp" in EXPECTED[name]:
        # the real checkpoint's tensor table (llama.cpp converts no MTP block)
        assert gguf.profile.params.total == EXPECTED[name]["checkpoint_params_without_mtp"]


def test_card_totals(pairs: dict[str, tuple[Analysis, Analysis]]) -> None:
    """Model cards: Granite-4.0-H-Tiny 7B total, 1B active (IBM's rounding: 6.9B, and ~1.3B
    active without the input embedding); Nemotron-H-8B; LFM2-700M 742M parameters."""
    assert round(pairs["granite-4.0-h-tiny"][0].profile.params.total / 1e9) == 7
    assert round(pairs["Nemotron-H-8B-Base-8K"][0].profile.params.total / 1e9) == 8
    assert round(pairs["LFM2-700M"][0].profile.params.total / 1e6) == 742


#: name → (attention layers, KV heads, head_dim), then the conv-window and recurrent-state
#: elements of one sequence and their bytes in vLLM's convention (bf16; Nemotron-H declares
#: mamba_ssm_cache_dtype float32, which vLLM's MambaStateDtypeCalculator applies to the SSM
#: state alone, the conv window staying bf16), worked out from the configs:
#: Mamba-2 per layer: conv (d_conv − 1) × (d_inner + 2·groups·d_state) + heads × head_dim ×
#: d_state; LFM2's short conv (L_cache − 1) × hidden; Gated DeltaNet: conv (k − 1) ×
#: (2·key heads·key dim + value heads·value dim) + value heads × key dim × value dim.
HAND = {
    "granite-4.0-h-tiny": ((4, 4, 128), 36 * 3 * (3072 + 2 * 1 * 128), 36 * 48 * 64 * 128, 2, 2),
    "Nemotron-H-8B-Base-8K": ((4, 8, 128), 24 * 3 * (8192 + 2 * 8 * 128), 24 * 128 * 64 * 128,
                              2, 4),
    "Falcon-H1-0.5B": ((36, 2, 64), 36 * 3 * (1536 + 2 * 1 * 128), 36 * 24 * 64 * 128, 2, 2),
    "LFM2-700M": ((6, 8, 64), 10 * (3 - 1) * 1536, 0, 2, 2),
    "Qwen3-Next-80B-A3B-Instruct": ((12, 2, 256), 36 * 3 * (2 * 16 * 128 + 32 * 128),
                                    36 * 32 * 128 * 128, 2, 2),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_kv_and_state(pairs: dict[str, tuple[Analysis, Analysis]], name: str) -> None:
    gguf, hf = pairs[name]
    (layers, kv_heads, head_dim), conv, ssm, conv_bytes, ssm_bytes = HAND[name]
    assert gguf.profile.kv.bytes_per_token == hf.profile.kv.bytes_per_token \
        == layers * 2 * kv_heads * head_dim * 2
    state = conv * conv_bytes + ssm * ssm_bytes
    assert gguf.profile.kv.state_bytes == hf.profile.kv.state_bytes == state
    # llama.cpp keeps the recurrent state in f32 (llama-memory-recurrent.cpp), K/V in f16
    lkv = gguf.profile.llama_cpp_kv
    assert lkv is not None and lkv.layers_full == layers
    assert lkv.recurrent_state_bytes == (conv + ssm) * 4
    assert lkv.bytes_k == lkv.bytes_v == layers * kv_heads * head_dim * 2 * lkv.cells


def test_layer_kinds_come_from_tensors_with_provenance(
        pairs: dict[str, tuple[Analysis, Analysis]]) -> None:
    gguf = pairs["granite-4.0-h-tiny"][0]
    kinds = [layer.attention.kind for layer in gguf.spec.layers]
    assert [i for i, k in enumerate(kinds) if k != "linear"] == [5, 15, 25, 35]
    assert gguf.spec.provenance["layer_types"].kind == "inferred"
    heads = gguf.spec.layers[0].attention.linear
    assert (heads.num_heads, heads.head_dim, heads.d_inner) == (48, 64, 3072)
    origins = gguf.checkpoint.gguf["origins"]
    assert origins["mamba_n_heads"]["key"] == "gguf:granitehybrid.ssm.time_step_rank"
    assert origins["mamba_d_head"]["kind"] == "derived"


# -- metadata only, and metadata against tensors ------------------------------------------------

U32 = V.UINT32


def _granite_kv(kv_per_layer: list[int]) -> dict[str, Any]:
    """granite-4.0-h-tiny's keys (as in the fixture) for a 4-layer stack."""
    a = "granitehybrid."
    return {
        a + "block_count": (len(kv_per_layer), U32), a + "embedding_length": (1536, U32),
        a + "feed_forward_length": (512, U32), a + "attention.head_count": (12, U32),
        a + "attention.head_count_kv": (kv_per_layer, V.ARRAY, V.INT32),
        a + "expert_count": (64, U32), a + "expert_used_count": (6, U32),
        a + "expert_shared_feed_forward_length": (1024, U32), a + "ssm.conv_kernel": (4, U32),
        a + "ssm.state_size": (128, U32), a + "ssm.group_count": (1, U32),
        a + "ssm.inner_size": (3072, U32), a + "ssm.time_step_rank": (48, U32),
        a + "rope.scaling.finetuned": (False, V.BOOL), a + "vocab_size": (100352, U32),
    }


def test_metadata_alone_sizes_the_layers(tmp_path: Path) -> None:
    """No blk.N tensors: `head_count_kv` = 0 marks the Mamba layers (llama.cpp:
    recurrent_layer_arr[i] = n_head_kv(i) == 0)."""
    path = tmp_path / "g.gguf"
    write_gguf(path, "granitehybrid", _granite_kv([0, 4, 0, 0]),
               [("token_embd.weight", (100352, 1536), Q.BF16)])
    spec = analyze(str(path)).spec
    assert [layer.attention.kind for layer in spec.layers] == ["linear", "gqa", "linear", "linear"]
    assert spec.provenance["layer_types"].kind == "derived"
    assert spec.layers[1].attention.positional == "nope"


def test_tensors_win_over_metadata(tmp_path: Path) -> None:
    """Metadata says layer 2 attends; its tensors are Mamba's: the tensors decide, a note
    says so."""
    h, inner = 1536, 3072
    tensors: list[tuple[str, tuple[int, ...], Q]] = [("token_embd.weight", (100352, h), Q.BF16)]
    for i in range(4):
        if i == 1:
            tensors += [(f"blk.{i}.attn_q.weight", (h, h), Q.BF16),
                        (f"blk.{i}.attn_k.weight", (512, h), Q.BF16),
                        (f"blk.{i}.attn_v.weight", (512, h), Q.BF16),
                        (f"blk.{i}.attn_output.weight", (h, h), Q.BF16)]
        else:
            tensors += [(f"blk.{i}.ssm_in.weight", (2 * inner + 2 * 128 + 48, h), Q.BF16),
                        (f"blk.{i}.ssm_out.weight", (h, inner), Q.BF16)]
    path = tmp_path / "g.gguf"
    write_gguf(path, "granitehybrid", _granite_kv([0, 4, 4, 0]), tensors)
    a = analyze(str(path))
    assert [layer.attention.kind for layer in a.spec.layers] == ["linear", "gqa", "linear",
                                                                 "linear"]
    assert any("disagree on layer(s) [2]" in note for note in a.checkpoint.notes)


def test_nemotron_h_metadata_alone(tmp_path: Path) -> None:
    """Nemotron-H's per-layer `feed_forward_length` (0 but on MLP blocks) and
    `head_count_kv` (0 but on attention blocks) give the block pattern M-*-."""
    a = "nemotron_h."
    kv = {a + "block_count": (4, U32), a + "embedding_length": (4096, U32),
          a + "attention.head_count": (32, U32),
          a + "attention.head_count_kv": ([0, 0, 8, 0], V.ARRAY, V.INT32),
          a + "feed_forward_length": ([0, 21504, 0, 21504], V.ARRAY, V.INT32),
          a + "attention.key_length": (128, U32), a + "attention.value_length": (128, U32),
          a + "ssm.conv_kernel": (4, U32), a + "ssm.state_size": (128, U32),
          a + "ssm.group_count": (8, U32), a + "ssm.inner_size": (8192, U32),
          a + "ssm.time_step_rank": (128, U32)}
    path = tmp_path / "n.gguf"
    write_gguf(path, "nemotron_h", kv, [("token_embd.weight", (131072, 4096), Q.BF16)])
    spec = analyze(str(path)).spec
    assert [(x.attention.kind, x.ffn.kind) for x in spec.layers] == [
        ("linear", "none"), ("none", "dense"), ("gqa", "none"), ("none", "dense")]
    assert spec.layers[1].ffn.intermediate_size == 21504
    assert spec.layers[0].attention.linear.num_heads == 128
