"""What-if variants: the classic exercises must read right (bundled catalog, no network)."""

from __future__ import annotations

import json

import pytest

from archlint.analysis.profile import Options, profile
from archlint.api import Analysis, analyze
from archlint.compare import compare_table
from archlint.compare_cli import run_compare
from archlint.errors import UsageError
from archlint.source import SourceOptions
from archlint.variants import apply_variant, parse_variant, variant_columns, variant_kv_dtype

CATALOG = SourceOptions(prefer="catalog")


@pytest.fixture(scope="module")
def models() -> dict[str, Analysis]:
    names = ("llama3", "llama-7b", "deepseek-v3", "qwen3-next", "gpt2-xl", "llama4")
    return {name: analyze(name, source=CATALOG) for name in names}


def _kv_per_token(spec, kv_dtype=None) -> int:
    return profile(spec, None, Options(kv_dtype=kv_dtype)).kv.bytes_per_token


def test_llama3_as_mha_grows_kv_4x(models):
    spec = models["llama3"].spec
    mha = apply_variant(spec, "mha")
    assert _kv_per_token(spec) == 2 * 32 * 8 * 128 * 2 == 131_072
    assert _kv_per_token(mha) == 2 * 32 * 32 * 128 * 2 == 4 * 131_072
    att = mha.layers[0].attention
    assert (att.kind, att.num_heads, att.num_kv_heads) == ("mha", 32, 32)
    # K and V projections grow from 1024 to 4096 outputs in every layer
    grown = profile(mha, None, Options()).params.total - profile(spec, None, Options()).params.total
    assert grown == 32 * 2 * 4096 * (4096 - 1024)


def test_mha_model_as_gqa8_shrinks_kv_4x(models):
    spec = models["llama-7b"].spec  # LLaMA-1 7B: MHA, 32 heads × 128, 32 layers
    assert spec.layers[0].attention.kind == "mha"
    gqa = apply_variant(spec, "gqa:8")
    assert _kv_per_token(spec) == 2 * 32 * 32 * 128 * 2 == 524_288
    assert _kv_per_token(gqa) == 524_288 // 4
    assert gqa.layers[0].attention.kind == "gqa"
    assert apply_variant(spec, "mqa").layers[0].attention.num_kv_heads == 1
    assert _kv_per_token(apply_variant(spec, "mqa")) == 524_288 // 32


def test_original_untouched_and_provenance(models):
    spec = models["llama3"].spec
    before = spec.model_dump()
    new = apply_variant(spec, "gqa:2")
    assert spec.model_dump() == before
    assert new.layers[5].attention.provenance["num_kv_heads"].kind == "derived"
    assert "gqa:2" in (new.layers[5].attention.provenance["num_kv_heads"].detail or "")
    assert new.notes[-1] == "what-if variant gqa:2"


def test_mla_variant(models):
    spec = models["llama3"].spec
    mla = apply_variant(spec, "mla:512")
    att = mla.layers[0].attention
    assert (att.kind, att.kv_lora_rank, att.qk_rope_head_dim) == ("mla", 512, 64)
    assert att.qk_nope_head_dim + att.qk_rope_head_dim == att.head_dim == 128
    assert _kv_per_token(mla) == 32 * (512 + 64) * 2  # one latent per token per layer
    custom = apply_variant(spec, "mla:256:32")
    assert _kv_per_token(custom) == 32 * (256 + 32) * 2
    # DeepSeek-V3: rank changes keep MLA; MHA expands the latent back to 128 heads × (192 + 128)
    ds = models["deepseek-v3"].spec
    assert _kv_per_token(apply_variant(ds, "mla:256")) == 61 * (256 + 64) * 2
    assert _kv_per_token(apply_variant(ds, "mha")) == 61 * 128 * (192 + 128) * 2


def test_window_and_full(models):
    spec = models["llama3"].spec
    windowed = apply_variant(spec, "window:4096")
    prof = profile(windowed, None, Options(context=32_768))
    assert prof.kv.bytes_at_context == 131_072 * 4096
    llama4 = models["llama4"].spec
    full = apply_variant(llama4, "full")
    assert all(not layer.attention.is_local for layer in full.layers)
    chunked = apply_variant(spec, "chunk:8192")
    assert chunked.layers[0].attention.chunk == 8192


def test_kv_dtype_variant(models):
    assert variant_kv_dtype("gqa:8+kv:fp8") == "fp8"
    assert variant_kv_dtype("mha") is None
    group = variant_columns(models["llama3"], ["kv:fp8", "mha+kv:fp8"], Options())
    assert [c.profile().kv.bytes_per_token for c in group] == [131_072, 65_536, 262_144]
    assert [c.options.kv_dtype for c in group] == [None, "fp8", "fp8"]


def test_linear_layers_untouched(models):
    spec = models["qwen3-next"].spec
    mha = apply_variant(spec, "mha")
    kinds = [layer.attention.kind for layer in mha.layers]
    assert kinds.count("linear") == 36 and kinds.count("mha") == 12


def test_parse_errors(models):
    assert parse_variant(" GQA:8 + kv:FP8 ") == ["gqa:8", "kv:fp8"]
    for bad in ("gqa", "gqa:x", "mla", "window:0", "foo", "kv:int3", "mha+", ""):
        with pytest.raises(UsageError):
            parse_variant(bad)
    with pytest.raises(UsageError, match="do not divide 25"):
        apply_variant(models["gpt2-xl"].spec, "gqa:8")  # GPT-2 XL has 25 heads
    with pytest.raises(UsageError, match="openai-community/gpt2-xl"):
        variant_columns(models["gpt2-xl"], ["gqa:8"], Options())


def test_side_by_side_with_deltas(models):
    columns = variant_columns(models["llama3"], ["mha", "gqa:2", "kv:fp8"], Options())
    assert [c.baseline for c in columns] == [None, 0, 0, 0]
    assert {c.model_id for c in columns} == {"meta-llama/Meta-Llama-3-8B"}
    assert [c.label for c in columns] == [
        "meta-llama/Meta-Llama-3-8B", "meta-llama/Meta-Llama-3-8B as mha",
        "meta-llama/Meta-Llama-3-8B as gqa:2", "meta-llama/Meta-Llama-3-8B as kv:fp8"]
    table = compare_table(columns, ["attention", "kv_per_token", "params_total"])
    kv = table.row("kv_per_token")
    assert [c.value for c in kv.cells] == [131_072, 524_288, 32_768, 65_536]
    assert kv.cells[1].text == "512 KiB (+300%, ×4)"
    assert kv.cells[2].text == "32 KiB (−75%, ÷4)"
    assert kv.cells[3].text == "64 KiB (−50%, ÷2)"
    assert kv.highlight == [False, True, True, True]
    assert "KV / token: 128 KiB → 32 KiB (−75%, ÷4)" in table.deltas[2]
    assert table.row("params_total").highlight == [False, True, True, False]


def test_run_compare_with_variants():
    text = run_compare(["llama3", "llama-7b"], fmt="json", variants=["mha", "gqa:8"],
                       rows=["kv_per_token"], source_options=CATALOG)
    data = json.loads(text)
    assert [c["variant"] for c in data["columns"]] == [None, "mha", "gqa:8"] * 2
    assert data["rows"][0]["values"] == [131_072, 524_288, 131_072, 524_288, 524_288, 131_072]
    assert data["deltas"][1] == ["KV / token: 128 KiB → 512 KiB (+300%, ×4)"]
    assert data["deltas"][5] == ["KV / token: 512 KiB → 128 KiB (−75%, ÷4)"]
    md = run_compare(["llama3"], fmt="markdown", variants=["mha"], source_options=CATALOG)
    assert "**512 KiB (+300%, ×4)**" in md
