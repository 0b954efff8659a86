"""Real GGUF headers rebuilt from public llama.cpp load logs (scripts/make_gguf_fixtures.py,
fixtures/gguf/SOURCES.json): archlint's parameters, bytes, bits per weight and llama.cpp KV
cache against the figures llama.cpp itself printed for those files."""

from __future__ import annotations

import json
import runpy
from collections import Counter
from pathlib import Path

import pytest

from archlint.analysis.gguf import llama_cpp_kv
from archlint.analysis.profile import Options
from archlint.api import analyze_checkpoint
from archlint.source import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SOURCES = json.loads((ROOT / "fixtures" / "gguf" / "SOURCES.json").read_text())
SCRIPT = runpy.run_path(str(ROOT / "scripts" / "make_gguf_fixtures.py"))
MIB, GIB = 2**20, 2**30


@pytest.fixture(scope="module")
def analyses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = {}
    for name in SOURCES:
        path = SCRIPT["expand"](name, tmp_path_factory.mktemp("published"))
        out[name] = analyze_checkpoint(load_checkpoint(str(path)), Options(context=2048))
    return out


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_tensor_types_match_the_log(name: str, analyses: dict[str, object]) -> None:
    """The rebuilt table has the `- type` lines of the real file (the Q4_K_M recipe's output)."""
    ckpt = analyses[name].checkpoint  # type: ignore[attr-defined]
    expect = SOURCES[name]["expect"]
    assert dict(Counter(t.dtype for t in ckpt.tensors)) == expect["types"]
    assert len(ckpt.tensors) == expect["tensors"]
    assert ckpt.problems == []


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_bytes_and_bits_per_weight_match_the_log(name: str, analyses: dict[str, object]
                                                 ) -> None:
    a = analyses[name]
    expect = SOURCES[name]["expect"]
    weights = a.profile.weights.bytes  # type: ignore[attr-defined]
    elements = sum(t.numel for t in a.checkpoint.tensors)  # type: ignore[attr-defined]
    assert round(weights / GIB, 2) == expect["size_gib"]  # "file size = 17.28 GiB"
    assert round(weights * 8 / elements, 2) == expect["bpw"]  # "(4.86 BPW)"
    assert a.profile.quant_mix.bits_per_weight == pytest.approx(expect["bpw"], abs=0.005)  # type: ignore[attr-defined]
    if "buffer_mib" in expect:  # CPU buffer = every tensor, mapped
        assert round(weights / MIB, 2) == expect["buffer_mib"]
    if "params_b" in expect:  # "model params = 6.74 B": every element
        assert round(elements / 1e9, 2) == expect["params_b"]
        assert a.profile.params.total == elements  # type: ignore[attr-defined]


def test_llama_cpp_kv_matches_the_log(analyses: dict[str, object]) -> None:
    """`KV self size = 1024.00 MiB, K (f16): 512.00 MiB, V (f16): 512.00 MiB` at n_ctx 2048."""
    name = "llava-v1.5-7b-Q4_K"
    a = analyses[name]
    expect = SOURCES[name]["expect"]
    kv = a.profile.llama_cpp_kv  # type: ignore[attr-defined]
    assert kv.context == expect["n_ctx"] and kv.cells == 2048
    assert (kv.bytes_k / MIB, kv.bytes_v / MIB, kv.bytes_total / MIB) == (
        expect["k_mib"], expect["v_mib"], expect["kv_mib"])
    # q8_0: 34 bytes per 32 values instead of 64 (ggml-common.h block_q8_0)
    q8 = llama_cpp_kv(a.spec, context=2048, type_k="q8_0")  # type: ignore[attr-defined]
    assert q8.bytes_total == 1024 * MIB * 34 // 64


def test_moe_file_reads_as_qwen3_moe(analyses: dict[str, object]) -> None:
    a = analyses["Qwen3-30B-A3B.Q4_K_M"]
    spec, params = a.spec, a.profile.params  # type: ignore[attr-defined]
    ffn = spec.layers[0].ffn
    assert (spec.model_type, ffn.kind, ffn.num_experts, ffn.experts_per_token,
            ffn.expert_intermediate_size) == ("qwen3_moe", "moe", 128, 8, 768)
    # Qwen3-30B-A3B's model card: "30.5B in total and 3.3B activated"
    assert round(params.total / 1e9, 1) == 30.5
    assert 3.3e9 <= params.active < 3.4e9
    mix = a.profile.quant_mix  # type: ignore[attr-defined]
    assert set(mix.by_component["routed_experts"].types) == {"Q4_K", "Q6_K"}
    assert set(mix.by_component["router"].types) == {"F32"}


def test_fixtures_match_their_generator(tmp_path: Path) -> None:
    import gzip

    for name in SOURCES:
        head, size = SCRIPT["build"](name)
        stored = gzip.decompress((ROOT / "fixtures" / "gguf" / f"{name}.gguf.gz").read_bytes())
        assert stored == head and SOURCES[name]["file_size"] == size, name


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_real_headers_lint_clean(name: str, analyses: dict[str, object]) -> None:
    """Files llama.cpp loaded without complaint: no config ⇄ weights, dtype or GGUF finding."""
    from archlint.lint.config import parse_config
    from archlint.lint.engine import run_rules
    from archlint.lint.registry import builtin_rules

    findings = run_rules(analyses[name], config=parse_config({"select": ["AL0", "AL1", "AL4",
                                                                        "AL6"]}),
                         rules=builtin_rules())
    assert findings == [], [f.message for f in findings]
