"""A GGUF repo on the local test Hub, through the real huggingface_hub client: the listing,
the choice of file, range reads of the header only, round trips and the cache. File bodies are
the header bytes gguf-py's writer wrote, then virtual zeros up to the file's full size."""

from __future__ import annotations

from pathlib import Path

import pytest
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V
from hubserver import HubServer, Repo, VirtualFile, text_file

from archlint import errors
from archlint.source.gguf_header import FIRST_READ_BYTES, read_local_gguf
from archlint.source.hub import fetch_checkpoint
from tests.gguf_files import llama_kv, llama_tensors, write_gguf

REPO = "example/Tiny-Llama-GGUF"
SMALL = dict(layers=2, hidden=256, heads=4, kv_heads=2, ffn=512)
QUANTS = {"Q4_K_M": (Q.Q4_K, 15), "Q8_0": (Q.Q8_0, 7), "IQ2_XXS": (Q.IQ2_XXS, 19),
          "F16": (Q.F16, 1)}


def gguf_file(path: Path, qtype: Q, ftype: int, *, tokens: int = 512, token_len: int = 0,
              **kv: object) -> VirtualFile:
    kvs = llama_kv(**SMALL, file_type=ftype, tokens=tokens,  # type: ignore[arg-type]
                   token_len=token_len)
    kvs.update(kv)  # type: ignore[arg-type]
    size = write_gguf(path, "llama", kvs, llama_tensors(**SMALL, vocab=tokens, quant=qtype))  # type: ignore[arg-type]
    parsed, _ = read_local_gguf(path)
    return VirtualFile(path.read_bytes()[: parsed.data_offset], size)


@pytest.fixture
def gguf_repo(hub_server: HubServer, tmp_path: Path) -> Repo:
    files = {"README.md": text_file("# Tiny Llama GGUF\n")}
    for quant, (qtype, ftype) in QUANTS.items():
        files[f"Tiny-Llama-{quant}.gguf"] = gguf_file(tmp_path / f"{quant}.gguf", qtype, ftype)
    files["mmproj-Tiny-Llama-F16.gguf"] = files["Tiny-Llama-F16.gguf"]
    repo = Repo(REPO)
    repo.add_commit(files)
    return hub_server.add_repo(repo)


def fetch(hub: HubServer, repo_id: str = REPO, revision: str | None = None, **kwargs: object):
    kwargs.setdefault("token", False)
    return fetch_checkpoint(repo_id, revision, endpoint=hub.endpoint, **kwargs)  # type: ignore[arg-type]


def sequential_round_trips(hub: HubServer) -> int:
    """The longest chain of requests each started after the previous one finished."""
    requests = sorted(hub.requests(), key=lambda r: r.started)
    depth: list[int] = []
    for i, req in enumerate(requests):
        before = [depth[j] for j in range(i) if requests[j].finished <= req.started]
        depth.append(1 + max(before, default=0))
    return max(depth, default=0)


def test_default_choice_is_q4_k_m_in_two_requests(gguf_repo: Repo, hub_server: HubServer
                                                  ) -> None:
    got = fetch(hub_server)
    assert got.weights_format == "gguf" and got.source == "hub"
    assert got.gguf["chosen"]["model"] == "Tiny-Llama-Q4_K_M.gguf"
    assert "Q4_K_M, the default choice among 4 GGUF models" in got.notes[0]  # mmproj skipped
    listed = {m["model"]: m for m in got.gguf["repo_models"]}
    files = gguf_repo.commits[gguf_repo.sha]
    assert listed["Tiny-Llama-Q8_0.gguf"] == {
        "model": "Tiny-Llama-Q8_0.gguf", "quant": "Q8_0", "parts": 1,
        "bytes": files["Tiny-Llama-Q8_0.gguf"].size}
    # the listing, then one range from byte 0: nothing else, no README, no other file
    reads = [r for r in hub_server.requests() if r.range]
    assert len(hub_server.requests()) == 2 == got.fetch_stats["requests"]
    assert [r.path.rsplit("/", 1)[-1] for r in reads] == ["Tiny-Llama-Q4_K_M.gguf"]
    size = files["Tiny-Llama-Q4_K_M.gguf"].size
    assert reads[0].range == f"bytes=0-{min(FIRST_READ_BYTES, size) - 1}"
    assert sequential_round_trips(hub_server) == 2
    assert got.config["model_type"] == "llama" and got.config["num_hidden_layers"] == 2


def test_quant_and_file_choose(gguf_repo: Repo, hub_server: HubServer) -> None:
    got = fetch(hub_server, gguf_quant="iq2_xxs")
    assert got.gguf["files"] == ["Tiny-Llama-IQ2_XXS.gguf"]
    assert {t.dtype for t in got.tensors} == {"IQ2_XXS", "Q6_K", "F32"}
    got = fetch(hub_server, gguf_file="Tiny-Llama-Q8_0.gguf")
    assert got.gguf["files"] == ["Tiny-Llama-Q8_0.gguf"]
    with pytest.raises(errors.HubError, match="no GGUF file with quantization 'Q3_K_S'") as err:
        fetch(hub_server, gguf_quant="Q3_K_S")
    assert "it offers F16, IQ2_XXS, Q4_K_M, Q8_0" in err.value.one_line()


def test_cache_reuse(gguf_repo: Repo, hub_server: HubServer) -> None:
    first = fetch(hub_server, gguf_quant="Q8_0")
    from archlint.source import cache as cache_mod

    cache_mod.flush()
    hub_server.reset_log()
    again = fetch(hub_server, gguf_quant="Q8_0")
    assert again.fetch_stats["cache_hit"] == 1
    assert len(hub_server.requests()) == 1  # the listing resolves the branch
    assert [t.name for t in again.tensors] == [t.name for t in first.tensors]
    assert again.gguf["files"] == ["Tiny-Llama-Q8_0.gguf"]
    hub_server.reset_log()
    pinned = fetch(hub_server, revision=gguf_repo.sha, gguf_quant="Q8_0")
    assert hub_server.requests() == [] and pinned.gguf["files"] == ["Tiny-Llama-Q8_0.gguf"]
    # another choice is another entry, not the cached Q8_0
    other = fetch(hub_server, revision=gguf_repo.sha)
    assert other.gguf["files"] == ["Tiny-Llama-Q4_K_M.gguf"]


def test_hundred_files_cost_one_listing(hub_server: HubServer, tmp_path: Path) -> None:
    one = gguf_file(tmp_path / "one.gguf", Q.Q4_K, 15)
    files = {f"Model-{i:03d}-Q4_K_S.gguf": one for i in range(99)}
    files["Model-Q4_K_M.gguf"] = one
    repo = Repo("example/Many-GGUF")
    repo.add_commit(files)
    hub_server.add_repo(repo)
    got = fetch(hub_server, "example/Many-GGUF")
    assert got.gguf["files"] == ["Model-Q4_K_M.gguf"]
    assert len(got.gguf["repo_models"]) == 100
    assert len(hub_server.requests()) == 2


def test_long_header_costs_one_more_range(hub_server: HubServer, tmp_path: Path) -> None:
    """A vocabulary of 64k 112-byte tokens (~7.7 MB of header, past the first read):
    the second range is sized from the reader's estimate, so the file takes three round trips
    (listing, first range, the rest)."""
    big = gguf_file(tmp_path / "big.gguf", Q.Q4_K, 15, tokens=65_536, token_len=112)
    assert len(big.head) > FIRST_READ_BYTES
    repo = Repo("example/Big-Vocab-GGUF")
    repo.add_commit({"Big-Q4_K_M.gguf": big})
    hub_server.add_repo(repo)
    got = fetch(hub_server, "example/Big-Vocab-GGUF")
    assert got.config["vocab_size"] == 65_536
    assert len(hub_server.requests()) == 3
    assert sequential_round_trips(hub_server) == 3


def test_split_set_parts_read_in_parallel(hub_server: HubServer, tmp_path: Path) -> None:
    kw = dict(layers=4, hidden=256, heads=4, kv_heads=2, ffn=512)
    tensors = llama_tensors(**kw, vocab=512)  # type: ignore[arg-type]
    files = {}
    for i, rows in enumerate((tensors[:20], tensors[20:])):
        kv = llama_kv(**kw, vocab=512) if i == 0 else {}  # type: ignore[arg-type]
        kv.update({"split.no": (i, V.UINT16), "split.count": (2, V.UINT16),
                   "split.tensors.count": (len(tensors), V.INT32)})
        path = tmp_path / f"part{i}.gguf"
        size = write_gguf(path, "llama", kv, rows)
        head = path.read_bytes()[: read_local_gguf(path)[0].data_offset]
        files[f"Q8_0/Big-Q8_0-{i + 1:05d}-of-00002.gguf"] = VirtualFile(head, size)
    repo = Repo("example/Split-GGUF")
    repo.add_commit(files)
    hub_server.add_repo(repo)
    got = fetch(hub_server, "example/Split-GGUF", gguf_quant="Q8_0")
    assert len(got.tensors) == len(tensors) and got.problems == []
    assert got.gguf["repo_models"] == [{"model": "Q8_0/Big-Q8_0-*-of-00002.gguf",
                                        "quant": "Q8_0", "parts": 2,
                                        "bytes": sum(f.size for f in files.values())}]
    assert len(hub_server.requests()) == 3


def test_cli_report_scan_and_compare_take_a_gguf_repo(gguf_repo: Repo, hub_server: HubServer,
                                                      tmp_path: Path, capsys, monkeypatch
                                                      ) -> None:
    import json

    from tests.test_cli import run

    hub = ["--endpoint", hub_server.endpoint, "--no-auth"]
    code, out, err = run(["report", REPO, "--quant", "Q8_0", "--format", "json", "--gpu",
                          "none", *hub], capsys, monkeypatch)
    assert code == 0, err
    report = json.loads(out)
    assert report["gguf"]["chosen"]["model"] == "Tiny-Llama-Q8_0.gguf"
    assert [m["quant"] for m in report["gguf"]["repo_models"]] == [
        "F16", "IQ2_XXS", "Q4_K_M", "Q8_0", "F16"]  # the last is mmproj-…-F16
    listing = tmp_path / "models.txt"
    listing.write_text(f"{REPO}\n")
    code, out, err = run(["scan", "--from", str(listing), *hub], capsys, monkeypatch)
    assert code == 0, err
    assert json.loads(out.splitlines()[0])["status"] == "ok"
    code, out, err = run(["compare", REPO, REPO, "--gpu", "none", *hub], capsys, monkeypatch)
    assert code == 0, err


def test_mixed_repo_reads_gguf_when_asked(hub_server: HubServer, tmp_path: Path) -> None:
    """A repo with safetensors weights and GGUF quants: the safetensors by default, the GGUF
    file when --quant/--file names one."""
    from hubserver import model_files

    from tests.helpers import fixture_checkpoint

    files = model_files(fixture_checkpoint("openai/gpt-oss-20b"), shards=2)
    files["gpt-oss-20b-Q4_K_M.gguf"] = gguf_file(tmp_path / "q.gguf", Q.Q4_K, 15)
    repo = Repo("example/Mixed")
    repo.add_commit(files)
    hub_server.add_repo(repo)
    assert fetch(hub_server, "example/Mixed").weights_format == "safetensors"
    got = fetch(hub_server, "example/Mixed", gguf_quant="Q4_K_M")
    assert got.weights_format == "gguf" and got.gguf["files"] == ["gpt-oss-20b-Q4_K_M.gguf"]
