"""The header cache: keys, integrity checks, refs for offline mode, concurrent processes."""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
from dataclasses import replace
from pathlib import Path

import pytest

from archlint.checkpoint import Checkpoint, unpack_ints
from archlint.source import cache as cache_mod
from archlint.source.cache import HeaderCache, default_cache_dir, is_full_sha
from tests.helpers import fixture

ENDPOINT = "https://huggingface.co"
REPO = "openai/gpt-oss-20b"
SHA = "a" * 40


def stored(repo_id: str = REPO, sha: str = SHA) -> Checkpoint:
    """A fetched-looking Checkpoint (a copy: the shared fixture is never mutated)."""
    return replace(fixture(REPO), model_id=repo_id, revision=sha, source="hub")


def test_round_trip_marks_source_cache(tmp_path: Path) -> None:
    cache = HeaderCache(tmp_path)
    original = stored()
    assert cache.put(ENDPOINT, REPO, SHA, original)
    got = cache.get(ENDPOINT, REPO, SHA)
    assert got is not None and got.source == "cache"
    assert got.tensors == original.tensors and got.config == original.config
    assert cache.get(ENDPOINT, REPO, "b" * 40) is None


def test_key_is_host_repo_and_commit(tmp_path: Path) -> None:
    cache = HeaderCache(tmp_path)
    cache.put(ENDPOINT, REPO, SHA, stored())
    assert cache.get("https://hub.example.com", REPO, SHA) is None  # another Hub, another model
    assert cache.get("https://huggingface.co/", REPO, SHA) is not None  # same host
    assert cache.get(ENDPOINT, "openai/other", SHA) is None


def test_endpoint_credentials_never_reach_the_path(tmp_path: Path) -> None:
    cache = HeaderCache(tmp_path)
    path = cache.entry_path("https://user:hf_secret@mirror.example:8443/hub", REPO, SHA)
    assert "hf_secret" not in str(path) and "user" not in str(path)
    assert "mirror.example_8443" in str(path)


@pytest.mark.parametrize("damage", [
    lambda raw: raw[: len(raw) // 2],                    # torn write
    lambda raw: raw[:-8] + bytes(8),                     # gzip CRC/length mismatch
    lambda raw: b"not a cache entry",                    # garbage
    lambda raw: gzip.compress(b"{not json"),             # valid gzip, invalid JSON
    lambda raw: gzip.compress(b"[1, 2, 3]"),             # JSON, wrong shape
    lambda raw: gzip.compress(json.dumps({"format": 999}).encode()),  # unknown format
])
def test_corrupt_entry_is_deleted_not_trusted(tmp_path: Path, damage) -> None:
    cache = HeaderCache(tmp_path)
    cache.put(ENDPOINT, REPO, SHA, stored())
    path = cache.entry_path(ENDPOINT, REPO, SHA)
    path.write_bytes(damage(path.read_bytes()))
    assert cache.get(ENDPOINT, REPO, SHA) is None
    assert not path.exists()


def test_entry_claiming_another_key_is_rejected(tmp_path: Path) -> None:
    cache = HeaderCache(tmp_path)
    stored(sha="c" * 40).dump(cache.entry_path(ENDPOINT, REPO, SHA))  # moved/renamed file
    assert cache.get(ENDPOINT, REPO, SHA) is None


def test_refs_remember_the_last_resolution(tmp_path: Path) -> None:
    cache = HeaderCache(tmp_path)
    assert cache.get_ref(ENDPOINT, REPO, "main") is None
    cache.put_ref(ENDPOINT, REPO, "main", SHA)
    cache.put_ref(ENDPOINT, REPO, "refs/pr/3", "b" * 40)
    cache.put_ref(ENDPOINT, REPO, None, "c" * 40)
    assert cache.get_ref(ENDPOINT, REPO, "main").sha == SHA
    assert cache.get_ref(ENDPOINT, REPO, "refs/pr/3").sha == "b" * 40
    assert cache.get_ref(ENDPOINT, REPO, None).sha == "c" * 40  # the default branch
    assert cache.ref_path(ENDPOINT, REPO, "refs/pr/3").parent == cache.ref_path(
        ENDPOINT, REPO, "main").parent  # a ref's slashes never make directories
    cache.ref_path(ENDPOINT, REPO, "main").write_text("{broken")
    assert cache.get_ref(ENDPOINT, REPO, "main") is None


def test_unwritable_cache_is_not_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = HeaderCache(blocker / "cache")  # parent is a file: every write fails
    assert cache.put(ENDPOINT, REPO, SHA, stored()) is False
    assert cache.put_ref(ENDPOINT, REPO, "main", SHA) is False
    assert cache.get(ENDPOINT, REPO, SHA) is None


def test_default_dir_follows_archlint_cache(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("ARCHLINT_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c" and HeaderCache().root == tmp_path / "c"
    monkeypatch.delenv("ARCHLINT_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "archlint"


def test_is_full_sha() -> None:
    assert is_full_sha("0123456789abcdef0123456789ABCDEF01234567")
    assert not is_full_sha("main") and not is_full_sha("abc123")


def _writer(root: str, rounds: int) -> None:
    cache = HeaderCache(Path(root))
    checkpoint = stored()
    for _ in range(rounds):
        assert cache.put(ENDPOINT, REPO, SHA, checkpoint)


def test_concurrent_processes_never_see_a_partial_entry(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn" if os.name == "nt" else "fork")
    writers = [context.Process(target=_writer, args=(str(tmp_path), 15)) for _ in range(3)]
    for process in writers:
        process.start()
    cache = HeaderCache(tmp_path)
    seen = 0
    while any(p.is_alive() for p in writers):
        got = cache.get(ENDPOINT, REPO, SHA)
        if got is not None:
            seen += 1
            assert got.model_id == REPO and len(got.tensors) == 459
    for process in writers:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert cache.get(ENDPOINT, REPO, SHA) is not None
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == [] and seen >= 0


def big(repo_id: str = REPO, sha: str = SHA) -> Checkpoint:
    """A checkpoint large enough to be written in the background."""
    ckpt = stored(repo_id, sha)
    tensors = list(ckpt.tensors or [])
    copies = -(-cache_mod.BACKGROUND_MIN_TENSORS // len(tensors))
    ckpt.tensors = [replace(t, name=f"{i}.{t.name}") for i in range(copies) for t in tensors]
    return ckpt


def test_background_write_is_flushed_and_read_back(tmp_path: Path) -> None:
    cache = HeaderCache(tmp_path)
    original = big()
    assert len(original.tensors or []) >= cache_mod.BACKGROUND_MIN_TENSORS
    assert cache.put(ENDPOINT, REPO, SHA, original, background=True)
    original.notes.append("added after put")  # the writer holds a snapshot of the lists
    assert cache_mod.flush()
    assert cache.entry_path(ENDPOINT, REPO, SHA).exists()
    got = cache.get(ENDPOINT, REPO, SHA)
    assert got is not None and got.tensors == original.tensors
    assert got.notes == original.notes[:-1]


def test_get_waits_for_a_pending_background_write(tmp_path: Path) -> None:
    cache = HeaderCache(tmp_path)
    original = big()
    assert cache.put(ENDPOINT, REPO, SHA, original, background=True)
    got = cache.get(ENDPOINT, REPO, SHA)  # no flush: get waits for this entry's writer
    assert got is not None and got.tensors == original.tensors
    assert cache_mod.flush()


def test_small_entries_are_written_at_once(tmp_path: Path) -> None:
    cache = HeaderCache(tmp_path)
    assert cache.put(ENDPOINT, REPO, SHA, stored(), background=True)
    assert cache.entry_path(ENDPOINT, REPO, SHA).exists()  # before any flush


def test_unwritable_cache_is_not_fatal_in_the_background(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = HeaderCache(blocker)
    assert cache.put(ENDPOINT, REPO, SHA, big(), background=True)  # refused later, silently
    assert cache_mod.flush()
    assert cache.get(ENDPOINT, REPO, SHA) is None


def test_paused_gc_nests_and_restores() -> None:
    import gc

    assert gc.isenabled()
    with cache_mod.paused_gc():
        assert not gc.isenabled()
        with cache_mod.paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with cache_mod.paused_gc():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()


@pytest.mark.parametrize(("field", "value"), [
    ("shape", [True, 4]), ("shape", [-1, 4]), ("shape", [2.0, 4]), ("shape", ["2", 4]),
    ("dtype", 7), ("name", None), ("start", "0"), ("end", 1.5),
])
def test_entry_with_a_mistyped_tensor_field_is_rejected(tmp_path: Path, field, value) -> None:
    """A bool, negative, float or string dimension, a non-string name or dtype, a non-integer
    offset: each one tensor of the table is enough for the entry to be discarded."""
    cache = HeaderCache(tmp_path)
    cache.put(ENDPOINT, REPO, SHA, stored())
    path = cache.entry_path(ENDPOINT, REPO, SHA)
    data = json.loads(gzip.decompress(path.read_bytes()))
    columns = data["tensors"]
    # columns (Checkpoint.to_dict): names, starts, ends hold values; dtypes and shapes hold ids
    # into dtype_table and shape_table, so the middle tensor gets an id of its own; integer
    # columns may be packed (pack_ints) and are edited as the lists they stand for
    for key in ("dtypes", "shapes", "shards"):
        columns[key] = unpack_ints(columns[key])
    mid = len(columns["names"]) // 2
    if field in ("dtype", "shape"):
        columns[f"{field}_table"].append(value)
        columns[f"{field}s"][mid] = len(columns[f"{field}_table"]) - 1
    else:
        columns[f"{field}s"][mid] = value
    path.write_bytes(gzip.compress(json.dumps(data).encode()))
    assert cache.get(ENDPOINT, REPO, SHA) is None
    assert not path.exists()


def test_an_entry_written_before_the_columns_is_still_read(tmp_path: Path) -> None:
    """Format 1 stored the tensor table as rows [name, dtype, shape, shard id, start, end];
    such an entry (written here by hand, as that version wrote it) reads as the same table."""
    cache = HeaderCache(tmp_path)
    original = stored()
    data = original.to_dict()
    shard_ids = {s.name: i for i, s in enumerate(original.shards)}
    data["format"] = 1
    data["tensors"] = [[t.name, t.dtype, list(t.shape), shard_ids.get(t.shard, -1), t.start, t.end]
                       for t in original.tensors or ()]
    path = cache.entry_path(ENDPOINT, REPO, SHA)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps(data).encode()))
    got = cache.get(ENDPOINT, REPO, SHA)
    assert got is not None and len(got.tensors or ()) == 459
    assert [(t.name, t.dtype, t.shape, t.shard, t.start, t.end) for t in got.tensors or ()] == [
        (t.name, t.dtype, t.shape, t.shard, t.start, t.end) for t in original.tensors or ()]


@pytest.mark.parametrize("damage", [
    lambda c: c["names"].pop(),                           # columns of different lengths
    lambda c: c["dtypes"].__setitem__(0, len(c["dtype_table"])),  # id past its table
    lambda c: c["shapes"].__setitem__(0, -1),             # a negative id
    lambda c: c["shards"].__setitem__(0, -2),
    lambda c: c.__setitem__("starts", {"0": 0}),          # not a list
    lambda c: c.__setitem__("dtypes", {"u8": "!!"}),      # not base64
    lambda c: c.__setitem__("shapes", {"u16": "AAAA"}),   # not a packing this reads
])
def test_a_columnar_entry_with_inconsistent_columns_is_discarded(tmp_path: Path, damage) -> None:
    cache = HeaderCache(tmp_path)
    cache.put(ENDPOINT, REPO, SHA, stored())
    path = cache.entry_path(ENDPOINT, REPO, SHA)
    data = json.loads(gzip.decompress(path.read_bytes()))
    for key in ("dtypes", "shapes", "shards"):
        data["tensors"][key] = unpack_ints(data["tensors"][key])
    damage(data["tensors"])
    path.write_bytes(gzip.compress(json.dumps(data).encode()))
    assert cache.get(ENDPOINT, REPO, SHA) is None
    assert not path.exists()


def test_the_index_weight_map_round_trips_in_its_order(tmp_path: Path) -> None:
    """The entry stores weight_map as columns; it reads back as the same mapping, keys in the
    index's own order and in their place among the index's keys."""
    cache = HeaderCache(tmp_path)
    names = [t.name for t in stored().tensors or ()][::-1]  # not the table's order
    index = {"metadata": {"total_size": 13761264768},
             "weight_map": {n: f"model-0000{i % 3}-of-00003.safetensors"
                            for i, n in enumerate(names)}, "extra": [1]}
    original = replace(stored(), index=index)
    cache.put(ENDPOINT, REPO, SHA, original)
    got = cache.get(ENDPOINT, REPO, SHA)
    assert got is not None and got.index == original.index
    assert list(got.index) == list(original.index)  # type: ignore[arg-type]
    assert list(got.index["weight_map"].items()) == list(original.index["weight_map"].items())


def _with_index(names: list[str]) -> Checkpoint:
    return replace(stored(), index={"metadata": {"total_size": 1}, "weight_map": {
        n: f"model-0000{i % 3}-of-00003.safetensors" for i, n in enumerate(names)}})


def _entry(cache: HeaderCache) -> dict:
    return json.loads(gzip.decompress(cache.entry_path(ENDPOINT, REPO, SHA).read_bytes()))


@pytest.mark.parametrize(("order", "rows"), [
    (lambda names: names, "table"),     # an index written from the shards' headers
    (sorted, "sorted"),                 # transformers writes its index with sort_keys
    (lambda names: names[1:], None),    # not every tensor listed: the names themselves
    (lambda names: [*names, "lm_head.extra"], None),  # a name the table lacks
])
def test_the_index_names_are_stored_once_when_the_table_has_them(tmp_path: Path, order,
                                                                 rows) -> None:
    """The weight_map's keys are the table's 459 names (in its order, or sorted): the entry
    holds them once, in the table, and reads back the same mapping in the index's order."""
    names = [t.name for t in stored().tensors or ()]
    assert len(names) == 459 and names != sorted(names)
    original = _with_index(order(names))
    cache = HeaderCache(tmp_path)
    cache.put(ENDPOINT, REPO, SHA, original)
    columns = _entry(cache)["index"]["weight_map"]
    assert columns.get("rows") == rows and ("names" in columns) == (rows is None)
    got = cache.get(ENDPOINT, REPO, SHA)
    assert got is not None and got.index == original.index
    assert list(got.index["weight_map"].items()) == list(original.index["weight_map"].items())


@pytest.mark.parametrize(("fmt", "rows"), [(2, "table"), (3, "reversed"), (3, ["a"])])
def test_an_index_row_order_this_version_did_not_write_is_discarded(tmp_path: Path, fmt,
                                                                     rows) -> None:
    """A format-2 entry (an older archlint's), or a row order that is neither "table" nor
    "sorted", is an entry this version did not write: removed, not trusted."""
    cache = HeaderCache(tmp_path)
    cache.put(ENDPOINT, REPO, SHA, _with_index([t.name for t in stored().tensors or ()]))
    data = _entry(cache)
    data["format"], data["index"]["weight_map"]["rows"] = fmt, rows
    path = cache.entry_path(ENDPOINT, REPO, SHA)
    path.write_bytes(gzip.compress(json.dumps(data).encode()))
    assert cache.get(ENDPOINT, REPO, SHA) is None
    assert not path.exists()
