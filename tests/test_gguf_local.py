"""GGUF files on disk as a user points archlint at them: one file, a directory of quants, a
split set. Files are written by llama.cpp's writer (gguf-py), header-only with a sparse data
section, so full-size models cost kilobytes."""

from __future__ import annotations

import json
from pathlib import Path

import gguf
import pytest
from gguf import GGMLQuantizationType as Q

from archlint.api import analyze
from tests.gguf_files import llama_kv, llama_tensors, nbytes_of, write_gguf
from tests.test_cli import run

# Llama-3-8B's shape (Meta's config.json: 32 layers, hidden 4096, 32 heads / 8 KV heads,
# FFN 14336, vocab 128256, untied head).
LLAMA3_8B = dict(layers=32, hidden=4096, heads=32, kv_heads=8, ffn=14336)
#: Meta-Llama-3-8B's model.safetensors.index.json: total_size 16,060,522,496 bytes of bf16,
#: i.e. 8,030,261,248 parameters.
LLAMA3_8B_PARAMS = 16_060_522_496 // 2


@pytest.fixture(scope="module")
def llama3_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gguf") / "Meta-Llama-3-8B-Q4_K_M.gguf"
    write_gguf(path, "llama", llama_kv(**LLAMA3_8B, tokens=128256),  # type: ignore[arg-type]
               llama_tensors(**LLAMA3_8B, vocab=128256))  # type: ignore[arg-type]
    return path


def test_a_gguf_file_is_a_full_report(llama3_file: Path) -> None:
    analysis = analyze(str(llama3_file))
    spec, params = analysis.spec, analysis.profile.params
    assert (spec.family, spec.num_layers, spec.hidden_size, spec.vocab_size) == (
        "llama", 32, 4096, 128256)
    assert params.method == "tensors"
    assert params.total == LLAMA3_8B_PARAMS
    # every byte as gguf-py's size table sizes the writer's tensors (GGUFReader agrees with
    # it tensor by tensor in test_gguf_header; on a 128k-token vocabulary it takes 15 s)
    written = llama_tensors(**LLAMA3_8B, vocab=128256)  # type: ignore[arg-type]
    assert analysis.profile.weights.bytes == sum(nbytes_of(s, q) for _, s, q in written)
    # vLLM convention, bf16: 32 layers × 8 KV heads × (128 + 128) × 2 B
    assert analysis.profile.kv.bytes_per_token == 32 * 8 * 256 * 2
    prov = spec.provenance["num_layers"]
    assert (prov.kind, prov.key) == ("declared", "gguf:llama.block_count")
    assert spec.provenance["vocab_size"].key == "gguf:tokenizer.ggml.tokens"
    assert analysis.checkpoint.weights_format == "gguf"
    assert analysis.checkpoint.gguf["file_type"] == "Q4_K_M"


def test_cli_report_and_check_are_clean(llama3_file: Path, capsys, monkeypatch) -> None:
    code, out, err = run(["check", str(llama3_file), "--gpu", "none", "--format", "json",
                          "--report"], capsys, monkeypatch)
    assert code == 0, err
    report = json.loads(out)
    assert report["findings"] == []


def test_directory_of_quants_picks_q4_k_m(tmp_path: Path, capsys, monkeypatch) -> None:
    small = dict(layers=2, hidden=256, heads=4, kv_heads=2, ffn=512)
    for quant, qtype, ftype in (("Q8_0", Q.Q8_0, 7), ("Q4_K_M", Q.Q4_K, 15)):
        write_gguf(tmp_path / f"Tiny-{quant}.gguf", "llama",
                   llama_kv(**small, file_type=ftype, vocab=512),  # type: ignore[arg-type]
                   llama_tensors(**small, vocab=512, quant=qtype))  # type: ignore[arg-type]
    analysis = analyze(str(tmp_path))
    assert analysis.checkpoint.gguf["files"] == ["Tiny-Q4_K_M.gguf"]
    assert "Q4_K_M, the default choice" in analysis.checkpoint.notes[0]
    code, out, err = run(["report", str(tmp_path), "--quant", "Q8_0", "--gpu", "none",
                          "--format", "json"], capsys, monkeypatch)
    assert code == 0, err
    assert json.loads(out)["model"]["notes"][0].startswith("analysed Tiny-Q8_0.gguf: the Q8_0")
    code, out, err = run(["report", str(tmp_path), "--quant", "IQ1_S"], capsys, monkeypatch)
    assert code == 2 and out == "" and "IQ1_S" in err and len(err.strip().splitlines()) == 1


def test_split_set_is_one_model(tmp_path: Path) -> None:
    kw = dict(layers=4, hidden=256, heads=4, kv_heads=2, ffn=512)
    tensors = llama_tensors(**kw, vocab=512)  # type: ignore[arg-type]
    parts = [tensors[:20], tensors[20:]]
    for i, rows in enumerate(parts):
        kv = llama_kv(**kw, vocab=512) if i == 0 else {}  # type: ignore[arg-type]
        kv.update({"split.no": (i, gguf.GGUFValueType.UINT16),
                   "split.count": (2, gguf.GGUFValueType.UINT16),
                   "split.tensors.count": (len(tensors), gguf.GGUFValueType.INT32)})
        write_gguf(tmp_path / f"Tiny-Q4_K_M-{i + 1:05d}-of-00002.gguf", "llama", kv, rows)
    analysis = analyze(str(tmp_path / "Tiny-Q4_K_M-00001-of-00002.gguf"))
    ckpt = analysis.checkpoint
    assert len(ckpt.tensors) == len(tensors)
    assert {t.shard for t in ckpt.tensors} == {f"Tiny-Q4_K_M-0000{i}-of-00002.gguf"
                                               for i in (1, 2)}
    assert ckpt.problems == []
    assert analysis.spec.num_layers == 4
    # a missing part is one clear error
    (tmp_path / "Tiny-Q4_K_M-00002-of-00002.gguf").unlink()
    from archlint.errors import InputError

    with pytest.raises(InputError, match="missing"):
        analyze(str(tmp_path / "Tiny-Q4_K_M-00001-of-00002.gguf"))


def test_planted_layer_count_defect_is_found(tmp_path: Path, capsys, monkeypatch) -> None:
    small = dict(layers=3, hidden=256, heads=4, kv_heads=2, ffn=512)
    kv = llama_kv(**{**small, "layers": 4}, vocab=512)  # type: ignore[arg-type]
    path = tmp_path / "lying.gguf"
    write_gguf(path, "llama", kv, llama_tensors(**small, vocab=512))  # type: ignore[arg-type]
    code, out, _err = run(["check", str(path), "--gpu", "none", "--format", "json",
                           "--report"], capsys, monkeypatch)
    assert code == 1
    (finding,) = [f for f in json.loads(out)["findings"] if f["code"] == "AL101"]
    assert "layer(s) 3" in finding["message"]
    # the finding points into the GGUF file, at the metadata key that declared it
    assert finding["location"]["file"] == "lying.gguf"
    assert finding["location"]["pointer"] == "/llama.block_count"


def test_broken_gguf_is_one_line_exit_2(tmp_path: Path, capsys, monkeypatch) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 16)
    code, out, err = run(["report", str(path)], capsys, monkeypatch)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "AL020" in err


def test_compare_and_scan_take_gguf_files(llama3_file: Path, tmp_path: Path, capsys,
                                          monkeypatch) -> None:
    small = dict(layers=2, hidden=256, heads=4, kv_heads=2, ffn=512)
    tiny = tmp_path / "Tiny-Q8_0.gguf"
    write_gguf(tiny, "llama", llama_kv(**small, file_type=7, vocab=512),  # type: ignore[arg-type]
               llama_tensors(**small, vocab=512, quant=Q.Q8_0))  # type: ignore[arg-type]
    code, out, err = run(["compare", str(llama3_file), str(tiny), "--format", "json",
                          "--gpu", "none"], capsys, monkeypatch)
    assert code == 0, err
    assert str(LLAMA3_8B_PARAMS) in out
    listing = tmp_path / "models.txt"
    listing.write_text(f"{llama3_file}\n{tiny}\n")
    code, out, err = run(["scan", "--from", str(listing)], capsys, monkeypatch)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert sorted(r["params_total"] for r in rows) == sorted(
        [LLAMA3_8B_PARAMS, 2 * 512 * 256 + 2 * (256 * 256 + 2 * 128 * 256 + 256 * 256
                                                + 3 * 256 * 512 + 2 * 256) + 256])


def test_a_split_set_whose_headers_exceed_the_model_total_is_one_line(
        tmp_path: Path, capsys, monkeypatch) -> None:
    from archlint.source import safetensors_header as st

    kw = dict(layers=4, hidden=256, heads=4, kv_heads=2, ffn=512)
    tensors = llama_tensors(**kw, vocab=512)  # type: ignore[arg-type]
    for i, rows in enumerate([tensors[:20], tensors[20:]]):
        kv = llama_kv(**kw, vocab=512) if i == 0 else {}  # type: ignore[arg-type]
        kv.update({"split.no": (i, gguf.GGUFValueType.UINT16),
                   "split.count": (2, gguf.GGUFValueType.UINT16),
                   "split.tensors.count": (len(tensors), gguf.GGUFValueType.INT32),
                   "general.description": ("x" * 65_536, gguf.GGUFValueType.STRING)})
        write_gguf(tmp_path / f"Tiny-Q4_K_M-{i + 1:05d}-of-00002.gguf", "llama", kv, rows)
    first = str(tmp_path / "Tiny-Q4_K_M-00001-of-00002.gguf")
    # each part's header holds a 65,536-byte string: together at least 131,072 bytes
    monkeypatch.setattr(st, "MAX_TOTAL_HEADER_BYTES", 100 * 1024)
    code, out, err = run([first], capsys, monkeypatch)
    assert code == 2 and out == "" and err.count("\n") == 1 and "GGUF headers" in err, err
    monkeypatch.setattr(st, "MAX_TOTAL_HEADER_BYTES", 10 * 2**20)
    code, out, err = run([first, "--no-lint"], capsys, monkeypatch)
    assert code == 0, err
