"""End to end through the real huggingface_hub client, against the local test Hub."""

from __future__ import annotations

import gzip
import json
import logging
import time
from pathlib import Path

import pytest
from hubserver import HubServer, Repo, VirtualFile, model_files, text_file

from archlint import errors
from archlint.source import hub as hub_mod
from archlint.source import safetensors_header as st
from archlint.source.hub import fetch_checkpoint, first_read_guess
from tests.helpers import fixture

GPT_OSS = "openai/gpt-oss-20b"  # 459 tensors, MXFP4 experts: served as 19 shards
V2_LITE = "deepseek-ai/DeepSeek-V2-Lite"  # 5,291 tensors: one ~31 GB file, header > 1st read
FALCON = "tiiuae/falcon-7b"  # .bin index only
QWEN3 = "Qwen/Qwen3-8B"  # config only


def fetch(hub: HubServer, repo_id: str, revision: str | None = None, **kwargs: object):
    kwargs.setdefault("token", False)
    return fetch_checkpoint(repo_id, revision, endpoint=hub.endpoint, **kwargs)  # type: ignore[arg-type]


def test_sharded_repo_reads_every_header(hub_server: HubServer) -> None:
    source = fixture(GPT_OSS)
    repo = hub_server.add_model(GPT_OSS, source, shards=19)
    files = repo.commits[repo.sha]

    got = fetch(hub_server, GPT_OSS)

    assert got.source == "hub" and got.model_id == GPT_OSS and got.revision == repo.sha
    assert got.weights_format == "safetensors" and got.index_name == "model.safetensors.index.json"
    assert got.config == source.config
    assert got.files == {name: vf.size for name, vf in files.items()}
    assert len(got.shards) == 19
    for shard in got.shards:
        assert shard.file_size == files[shard.name].size
        assert shard.header_len == int.from_bytes(files[shard.name].head[:8], "little")
        assert shard.metadata == {"format": "pt"}
    assert [(t.name, t.dtype, t.shape) for t in got.tensors] == [
        (t.name, t.dtype, t.shape) for t in source.tensors]
    assert all(t.shard == got.index["weight_map"][t.name] for t in got.tensors)
    assert all(t.end - t.start == t.nbytes for t in got.tensors)
    assert got.index_total_size() == sum(t.nbytes for t in source.tensors)
    assert got.problems == []
    # listing + config + index + one ranged read per shard; README never fetched
    assert got.fetch_stats["requests"] == 22 == hub_server.count()
    assert not any(r.path.endswith("README.md") for r in hub_server.requests())
    # one range per shard from byte 0. A task that starts before the index is parsed sizes it
    # from the listing (the index's size): 64 KiB here rather than FIRST_READ_BYTES; one that
    # starts after sizes it from the index. Which one a task is depends on thread scheduling
    # (under load, some of the 19 tasks start after the index arrived: this assertion, once
    # "always the guess", failed in loaded full runs), so either size is right, nothing else.
    guess = first_read_guess(got.files, [s.name for s in got.shards])
    assert guess == hub_mod.GUESS_MIN_BYTES < st.FIRST_READ_BYTES
    index_bytes = files["model.safetensors.index.json"].size
    from_index = hub_mod.first_reads_from_index(got.index["weight_map"], index_bytes, None)
    for r in hub_server.requests():
        if r.path.endswith(".safetensors"):
            shard = r.path.rsplit("/", 1)[1]
            assert r.range in (f"bytes=0-{guess - 1}", f"bytes=0-{from_index[shard] - 1}")


def test_bytes_fetched_are_config_index_and_headers(hub_server: HubServer) -> None:
    repo = hub_server.add_model(GPT_OSS, fixture(GPT_OSS), shards=19)
    files = repo.commits[repo.sha]

    got = fetch(hub_server, GPT_OSS)

    listing = hub_server.requests()[0].sent
    small = files["config.json"].size + files["model.safetensors.index.json"].size
    shards = sorted(name for name in files if name.endswith(".safetensors"))
    guess = first_read_guess({name: vf.size for name, vf in files.items()}, shards)
    # each shard's one read is sized from the listing (a task that started before the index
    # arrived) or from the index (one that started after: under load, some do; see
    # test_sharded_repo_reads_every_header), and the server sends that much of the file
    index_bytes = files["model.safetensors.index.json"].size
    from_index = hub_mod.first_reads_from_index(got.index["weight_map"], index_bytes, None)
    reads = 0
    for r in hub_server.requests():
        if r.path.endswith(".safetensors"):
            name = r.path.rsplit("/", 1)[1]
            size = {guess, from_index[name]}
            assert r.range in {f"bytes=0-{n - 1}" for n in size}
            assert r.sent in {min(files[name].size, max(n, len(files[name].head))) for n in size}
            reads += r.sent
    assert got.fetch_stats["bytes"] == hub_server.bytes_sent() == listing + small + reads
    assert reads <= sum(min(files[n].size, max(guess, len(files[n].head))) for n in shards)
    weights = sum(vf.size for vf in files.values())
    assert got.fetch_stats["bytes"] < weights / 1000  # 13.7 GB of weights, ~5 MB read


def test_single_file_with_long_header_takes_a_second_range(hub_server: HubServer) -> None:
    source = fixture(V2_LITE)
    repo = hub_server.add_model(V2_LITE, source, shards=1)
    head = repo.commits[repo.sha]["model.safetensors"].head
    assert len(head) > st.FIRST_READ_BYTES  # the premise of this test

    got = fetch(hub_server, V2_LITE)

    assert got.index is None and [s.name for s in got.shards] == ["model.safetensors"]
    assert got.shards[0].header_len == len(head) - 8
    assert len(got.tensors) == len(source.tensors) == 5291
    ranges = [r.range for r in hub_server.requests() if r.path.endswith(".safetensors")]
    assert ranges == [f"bytes=0-{st.FIRST_READ_BYTES - 1}",
                      f"bytes={st.FIRST_READ_BYTES}-{len(head) - 1}"]
    assert got.fetch_stats["requests"] == 4  # listing, config, two ranges


def test_bin_repo_is_reported_from_its_index_and_never_downloaded(hub_server: HubServer) -> None:
    source = fixture(FALCON)
    hub_server.add_model(FALCON, source)

    got = fetch(hub_server, FALCON)

    assert got.weights_format == "bin" and got.tensors is None
    assert got.index == source.index and got.index_name == "pytorch_model.bin.index.json"
    assert sorted(s.name for s in got.shards) == sorted(set(source.index["weight_map"].values()))
    assert any(".bin" in note for note in got.notes)
    assert not any(r.path.endswith(".bin") for r in hub_server.requests())


def test_config_only_repo_works_and_says_so(hub_server: HubServer) -> None:
    hub_server.add_model(QWEN3, fixture(QWEN3))

    got = fetch(hub_server, QWEN3)

    assert got.config == fixture(QWEN3).config
    assert got.weights_format == "none" and got.tensors is None and got.shards == []
    assert any("config only" in note for note in got.notes)


def test_repo_without_config_or_safetensors_is_refused(hub_server: HubServer) -> None:
    repo = Repo("someone/dataset-like")
    repo.add_commit({"README.md": text_file("hi"), "data.csv": text_file("a,b\n")})
    hub_server.add_repo(repo)

    with pytest.raises(errors.NotSafetensorsError, match=r"someone/dataset-like.*no config\.json"):
        fetch(hub_server, "someone/dataset-like")


def test_gated_repo_says_how_to_authenticate(hub_server: HubServer) -> None:
    hub_server.add_model(QWEN3, fixture(QWEN3), gated=True,
                         allowed_tokens={"hf_allowed"})

    with pytest.raises(errors.GatedRepoError) as info:
        fetch(hub_server, QWEN3)
    message = info.value.one_line()
    assert QWEN3 in message and "hf auth login" in message and "HF_TOKEN" in message
    assert "\n" not in message

    assert fetch(hub_server, QWEN3, token="hf_allowed").config is not None


def test_gated_repo_with_a_token_lacking_access(hub_server: HubServer) -> None:
    hub_server.add_model(QWEN3, fixture(QWEN3), gated=True,
                         allowed_tokens={"hf_allowed"})
    hub_server.known_tokens.add("hf_other")
    with pytest.raises(errors.GatedRepoError, match="request access"):
        fetch(hub_server, QWEN3, token="hf_other")


def test_token_from_environment_is_used(hub_server: HubServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    hub_server.add_model(QWEN3, fixture(QWEN3), gated=True,
                         allowed_tokens={"hf_from_env"})
    monkeypatch.setenv("HF_TOKEN", "hf_from_env")
    assert fetch(hub_server, QWEN3, token=None).config is not None
    with pytest.raises(errors.GatedRepoError):  # --no-auth: token=False sends none
        fetch(hub_server, QWEN3, token=False, use_cache=False)
    assert hub_server.requests()[-1].authorization is None


def test_missing_repo_may_be_private(hub_server: HubServer) -> None:
    with pytest.raises(errors.RepoNotFoundError) as info:
        fetch(hub_server, "nobody/nothing")
    assert "nobody/nothing" in str(info.value) and "private" in str(info.value)


def test_private_repo_needs_its_token(hub_server: HubServer) -> None:
    hub_server.add_model(QWEN3, fixture(QWEN3), private=True,
                         allowed_tokens={"hf_member"})
    with pytest.raises(errors.RepoNotFoundError):
        fetch(hub_server, QWEN3)
    assert fetch(hub_server, QWEN3, token="hf_member").weights_format == "none"


def test_invalid_token_is_named_as_such(hub_server: HubServer) -> None:
    hub_server.add_model(QWEN3, fixture(QWEN3))
    with pytest.raises(errors.HubError, match="rejected the token") as info:
        fetch(hub_server, QWEN3, token="hf_wrongTOKEN")
    assert "hf_wrongTOKEN" not in info.value.one_line()


def test_missing_revision(hub_server: HubServer) -> None:
    hub_server.add_model(QWEN3, fixture(QWEN3))
    with pytest.raises(errors.RevisionNotFoundError,
                       match=f"{QWEN3}: revision 'no-such-branch' not found"):
        fetch(hub_server, QWEN3, "no-such-branch")


def test_revisions_branch_tag_pr_and_sha(hub_server: HubServer) -> None:
    source = fixture(QWEN3)
    repo = hub_server.add_model(QWEN3, source)
    pr_files = model_files(source)
    pr_files["config.json"] = text_file('{"model_type": "qwen3", "num_hidden_layers": 3}')
    pr_sha = repo.add_commit(pr_files, "refs/pr/3", "v2.0")

    main = fetch(hub_server, QWEN3, "main")
    pr = fetch(hub_server, QWEN3, "refs/pr/3")
    tag = fetch(hub_server, QWEN3, "v2.0")
    pinned = fetch(hub_server, QWEN3, pr_sha)

    assert main.revision == repo.refs["main"] != pr_sha
    assert pr.revision == tag.revision == pinned.revision == pr_sha
    assert pr.config == {"model_type": "qwen3", "num_hidden_layers": 3}
    listings = [r.path for r in hub_server.requests() if r.path.startswith("/api/")]
    assert f"/api/models/{QWEN3}/revision/refs%2Fpr%2F3" in listings
    # files are always read at the resolved commit, never at a moving branch
    assert all(f"/resolve/{pr_sha}/" in r.path or f"/resolve/{main.revision}/" in r.path
               for r in hub_server.requests() if "/resolve/" in r.path)


def test_second_run_on_a_pinned_sha_needs_no_network(hub_server: HubServer,
                                                     hub_env: Path) -> None:
    repo = hub_server.add_model(GPT_OSS, fixture(GPT_OSS), shards=19)
    first = fetch(hub_server, GPT_OSS, repo.sha)
    hub_server.stop()

    again = fetch(hub_server, GPT_OSS, repo.sha)

    assert again.source == "cache" and again.fetch_stats["requests"] == 0
    assert again.revision == first.revision
    assert again.tensors == first.tensors and again.shards == first.shards
    assert again.files == first.files and again.index == first.index


def test_second_run_on_a_branch_makes_one_listing_call(hub_server: HubServer) -> None:
    hub_server.add_model(GPT_OSS, fixture(GPT_OSS), shards=19)
    fetch(hub_server, GPT_OSS)
    hub_server.reset_log()

    again = fetch(hub_server, GPT_OSS)

    assert again.source == "cache" and again.fetch_stats["requests"] == 1
    assert [r.path for r in hub_server.requests()] == [f"/api/models/{GPT_OSS}"]


def test_corrupt_cache_entry_is_refetched(hub_server: HubServer, hub_env: Path) -> None:
    repo = hub_server.add_model(QWEN3, fixture(QWEN3))
    fetch(hub_server, QWEN3, repo.sha)
    [entry] = list(hub_env.rglob("*.json.gz"))
    entry.write_bytes(entry.read_bytes()[:-20])  # torn write / disk corruption
    hub_server.reset_log()

    again = fetch(hub_server, QWEN3, repo.sha)

    assert again.source == "hub" and hub_server.count() == 2  # listing + config, from scratch
    assert fetch(hub_server, QWEN3, repo.sha).source == "cache"  # and rewritten whole


def test_offline_answers_from_cache_or_raises(hub_server: HubServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    repo = hub_server.add_model(QWEN3, fixture(QWEN3))
    fetch(hub_server, QWEN3)
    hub_server.reset_log()

    offline = fetch(hub_server, QWEN3, offline=True)
    assert offline.source == "cache" and offline.revision == repo.sha
    assert any("offline" in note for note in offline.notes)
    assert fetch(hub_server, QWEN3, repo.sha, offline=True).source == "cache"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert fetch(hub_server, QWEN3).source == "cache"
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)  # set at hf's import
    assert fetch(hub_server, QWEN3).source == "cache"
    assert hub_server.count() == 0

    with pytest.raises(errors.OfflineError, match="nobody/else"):
        fetch(hub_server, "nobody/else")
    with pytest.raises(errors.OfflineError):
        fetch(hub_server, QWEN3, "some-other-branch")


def test_token_never_reaches_cache_messages_or_logs(
        hub_server: HubServer, hub_env: Path, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    secret = "hf_SECRETtoken0123456789"
    hub_server.add_model(GPT_OSS, fixture(GPT_OSS), shards=3, gated=True,
                         allowed_tokens={secret})
    caplog.set_level(logging.DEBUG)
    got = fetch(hub_server, GPT_OSS, token=secret)
    assert all(r.authorization == f"Bearer {secret}" for r in hub_server.requests())
    with pytest.raises(errors.RevisionNotFoundError) as info:
        fetch(hub_server, GPT_OSS, "nope", token=secret)

    blobs = [p.read_bytes() for p in hub_env.rglob("*") if p.is_file()]
    blobs += [gzip.decompress(b) for b in blobs if b[:2] == b"\x1f\x8b"]
    assert blobs and not any(secret.encode() in b for b in blobs)
    assert secret not in repr(got.to_dict()) and secret not in str(got.fetch_stats)
    assert secret not in info.value.one_line()
    out = capsys.readouterr()
    assert secret not in out.out + out.err + caplog.text


def _warm_up(hub: HubServer) -> None:
    """One small fetch first: the process's HTTP client and imports are not round trips."""
    hub.add_model(QWEN3, fixture(QWEN3))
    fetch(hub, QWEN3, use_cache=False)
    hub.reset_log()


def test_three_sequential_round_trips_under_latency(hub_server: HubServer) -> None:
    hub_server.add_model(GPT_OSS, fixture(GPT_OSS), shards=19)
    _warm_up(hub_server)
    hub_server.latency_s = 0.1  # every request answers after 100 ms

    started = time.monotonic()
    got = fetch(hub_server, GPT_OSS)
    elapsed = time.monotonic() - started

    # listing, then config + index + 19 headers at once (16 workers: two waves of 100 ms)
    assert elapsed < 0.5, elapsed
    assert got.fetch_stats["requests"] == 22
    log = hub_server.requests()
    listing_done = log[0].finished
    assert all(r.started >= listing_done for r in log[1:])
    assert max(r.started for r in log[1:]) - listing_done < 0.25  # no third sequential wave


def test_with_enough_workers_everything_after_the_listing_is_one_wave(
        hub_server: HubServer) -> None:
    hub_server.add_model(GPT_OSS, fixture(GPT_OSS), shards=19)
    _warm_up(hub_server)
    hub_server.latency_s = 0.2

    started = time.monotonic()
    fetch(hub_server, GPT_OSS, max_workers=32)
    elapsed = time.monotonic() - started

    log = hub_server.requests()
    # every request but the listing starts before any of them could have finished: 2 trips
    assert max(r.started for r in log[1:]) - log[0].finished < 0.15
    assert elapsed < 0.6, elapsed  # three sequential trips would take >= 0.6 s


def test_cdn_redirects_are_followed(hub_env: Path, fast_retries: None) -> None:
    with HubServer(redirect_lfs=True) as hub:
        repo = hub.add_model(GPT_OSS, fixture(GPT_OSS), shards=4)
        got = fetch(hub, GPT_OSS)
        assert len(got.shards) == 4 and got.revision == repo.sha
        cdn = [r for r in hub.requests() if r.path.startswith("/cdn/")]
        assert len(cdn) == 4 and all(r.range for r in cdn)


def test_progress_reports_each_header(hub_server: HubServer) -> None:
    hub_server.add_model(GPT_OSS, fixture(GPT_OSS), shards=5)
    seen: list[tuple[int, int]] = []
    fetch(hub_server, GPT_OSS, progress=lambda done, total: seen.append((done, total)))
    assert sorted(seen)[-1] == (5, 5) and len(seen) == 5


def test_use_cache_false_writes_nothing(hub_server: HubServer, hub_env: Path) -> None:
    hub_server.add_model(QWEN3, fixture(QWEN3))
    fetch(hub_server, QWEN3, use_cache=False)
    assert not hub_env.exists()


def test_endpoint_from_hf_endpoint_env(hub_server: HubServer,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    hub_server.add_model(QWEN3, fixture(QWEN3))
    monkeypatch.setenv("HF_ENDPOINT", hub_server.endpoint)
    assert fetch_checkpoint(QWEN3, token=False).config is not None


def test_bad_repo_id_is_a_usage_error(hub_env: Path) -> None:
    for bad in ("../etc", "a/b/c", "", "org/../x", "org--x/y"):
        with pytest.raises(errors.UsageError):
            fetch_checkpoint(bad, endpoint="http://127.0.0.1:9", token=False)


def _renamed_shards(files: dict, rename) -> dict:
    """`files` with every shard renamed by `rename` and the index rewritten to match."""
    index = json.loads(files["model.safetensors.index.json"].head)
    out = {name: vf for name, vf in files.items() if not name.endswith(".safetensors")}
    for name, vf in files.items():
        if name.endswith(".safetensors"):
            out[rename(name)] = vf
    index["weight_map"] = {t: rename(s) for t, s in index["weight_map"].items()}
    out["model.safetensors.index.json"] = text_file(json.dumps(index))
    return out


def test_shards_the_listing_does_not_reveal_cost_one_more_round(hub_server: HubServer) -> None:
    files = _renamed_shards(model_files(fixture(GPT_OSS), shards=3),
                            lambda name: f"weights/{name}")
    repo = Repo("org/subfolder-shards")
    repo.add_commit(files)
    hub_server.add_repo(repo)

    got = fetch(hub_server, "org/subfolder-shards")

    assert [s.name for s in got.shards] == sorted(n for n in files if n.endswith(".safetensors"))
    assert len(got.tensors) == 459 and got.problems == []
    log = hub_server.requests()
    index_done = next(r.finished for r in log if r.path.endswith("index.json"))
    assert all(r.started >= index_done for r in log if r.path.endswith(".safetensors"))


def test_shards_requested_after_the_index_are_read_in_one_range_sized_from_it(
        hub_server: HubServer) -> None:
    # V2-Lite's 5,291 tensors in 2 shards: ~340 KB of header each, more than FIRST_READ_BYTES,
    # so a fixed first read would take two ranges per shard; the index sizes it in one
    files = _renamed_shards(model_files(fixture(V2_LITE), shards=2),
                            lambda name: f"weights/{name}")
    heads = {name: vf.head for name, vf in files.items() if name.endswith(".safetensors")}
    assert all(len(head) > st.FIRST_READ_BYTES for head in heads.values())  # the premise
    repo = Repo("org/subfolder-shards")
    repo.add_commit(files)
    hub_server.add_repo(repo)

    got = fetch(hub_server, "org/subfolder-shards")

    assert len(got.tensors) == 5291 and got.problems == []
    index = json.loads(files["model.safetensors.index.json"].head)
    sizes = hub_mod.first_reads_from_index(index["weight_map"],
                                           files["model.safetensors.index.json"].size, None)
    ranges = sorted((r.path.rsplit("/", 1)[-1], r.range) for r in hub_server.requests()
                    if r.path.endswith(".safetensors"))
    assert ranges == sorted((name.rsplit("/", 1)[-1], f"bytes=0-{sizes[name] - 1}")
                            for name in heads)
    for name, head in heads.items():  # each estimate covers its header, with a bounded margin
        assert len(head) <= sizes[name] <= 2 * len(head)


def test_guessed_shards_with_long_headers_are_read_in_one_range_each(
        hub_server: HubServer) -> None:
    # V2-Lite in 2 root-level shards, guessed from the listing and asked for with the index:
    # ~340 KB of header each, past FIRST_READ_BYTES, as each of Kimi-K2's 61 is. The guess from
    # the index's listed size covers each header in its first range: no shard takes a second
    repo = hub_server.add_model(V2_LITE, fixture(V2_LITE), shards=2)
    files = repo.commits[repo.sha]
    heads = {name: vf.head for name, vf in files.items() if name.endswith(".safetensors")}
    assert all(len(head) > st.FIRST_READ_BYTES for head in heads.values())  # the premise

    got = fetch(hub_server, V2_LITE)

    assert len(got.tensors) == 5291 and got.problems == []
    assert got.fetch_stats["requests"] == 5 == hub_server.count()  # listing, config, index, 2
    reads = [r for r in hub_server.requests() if r.path.endswith(".safetensors")]
    assert sorted(r.path.rsplit("/", 1)[1] for r in reads) == sorted(heads)
    assert all(r.range.startswith("bytes=0-") for r in reads)
    # the byte cost: each range at most 1.5x the header it brings (the guess's 1.75x margin
    # over the index's bytes, against the ~1.43x this header holds)
    header_bytes = sum(map(len, heads.values()))
    assert header_bytes < sum(r.sent for r in reads) <= 1.5 * header_bytes


def test_guessed_first_reads_stay_within_the_header_cap_and_budget() -> None:
    files: dict[str, int | None] = {hub_mod.SAFETENSORS_INDEX: 10**9}  # a forged, huge index
    assert first_read_guess(files, ["a", "b"]) == hub_mod.GUESS_MAX_BYTES
    assert first_read_guess(files, ["a", "b"], 1000) == 1008
    many = [f"s{i}" for i in range(2048)]
    assert first_read_guess(files, many) * len(many) <= st.MAX_TOTAL_HEADER_BYTES


def test_first_read_sizes_stay_within_the_header_cap() -> None:
    weight_map = {f"t{i}": "a.safetensors" for i in range(100_000)} | {"x": "b.safetensors"}
    sizes = hub_mod.first_reads_from_index(weight_map, 10**9, 1000)  # a forged, huge index
    assert sizes == {"a.safetensors": 1008, "b.safetensors": 1008}
    assert hub_mod.first_reads_from_index({}, 0, None) == {}


def test_stray_root_files_are_guessed_only_by_name(hub_server: HubServer) -> None:
    files = model_files(fixture(GPT_OSS), shards=3)
    files["consolidated.safetensors"] = files["model-00001-of-00003.safetensors"]
    files["model-old.safetensors"] = files["model-00002-of-00003.safetensors"]
    repo = Repo("org/stray-files")
    repo.add_commit(files)
    hub_server.add_repo(repo)

    got = fetch(hub_server, "org/stray-files")

    assert [s.name for s in got.shards] == [f"model-0000{k}-of-00003.safetensors"
                                            for k in (1, 2, 3)]
    assert len(got.tensors) == 459
    assert not any("consolidated" in r.path for r in hub_server.requests())


def test_index_naming_a_missing_shard_is_a_problem_not_a_crash(hub_server: HubServer) -> None:
    files = model_files(fixture(GPT_OSS), shards=3)
    del files["model-00003-of-00003.safetensors"]
    repo = Repo("org/missing-shard")
    repo.add_commit(files)
    hub_server.add_repo(repo)

    got = fetch(hub_server, "org/missing-shard")

    assert len(got.shards) == 2 and "AL013" in {p.code for p in got.problems}


def test_unparseable_header_is_a_header_error(hub_server: HubServer) -> None:
    repo = Repo("org/garbage")
    repo.add_commit({"config.json": text_file("{}"),
                     "model.safetensors": VirtualFile(b"\xff" * 8 + b"{}", 10**9)})
    hub_server.add_repo(repo)
    with pytest.raises(errors.HeaderError, match="AL001"):
        fetch(hub_server, "org/garbage")


def test_empty_safetensors_file_is_a_header_error(hub_server: HubServer) -> None:
    repo = Repo("org/empty")
    repo.add_commit({"config.json": text_file("{}"), "model.safetensors": text_file(b"")})
    hub_server.add_repo(repo)
    with pytest.raises(errors.HeaderError, match="AL001"):
        fetch(hub_server, "org/empty")


def test_broken_config_is_a_config_error_naming_the_model(hub_server: HubServer) -> None:
    repo = Repo("org/bad-config")
    repo.add_commit({"config.json": text_file('{"hidden_size": 4096,')})
    hub_server.add_repo(repo)
    with pytest.raises(errors.ConfigError, match=r"org/bad-config@\w+: config\.json"):
        fetch(hub_server, "org/bad-config")


def test_oversized_config_is_refused_without_reading_it_all(hub_server: HubServer) -> None:
    from archlint.source.config_file import MAX_CONFIG_BYTES

    repo = Repo("org/huge-config")
    repo.add_commit({"config.json": VirtualFile(b"{", 10 * MAX_CONFIG_BYTES)})
    hub_server.add_repo(repo)
    with pytest.raises(errors.ConfigError, match="cap"):
        fetch(hub_server, "org/huge-config")
    assert hub_server.bytes_sent() < 2 * MAX_CONFIG_BYTES


def test_local_hub_speaks_the_real_clients_protocol(hub_env: Path, tmp_path: Path) -> None:
    """The test Hub is only worth its tests if huggingface_hub's own APIs accept it."""
    from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url
    from huggingface_hub.utils import (  # type: ignore[attr-defined]
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    source = fixture(GPT_OSS)
    with HubServer(redirect_lfs=True) as hub:
        repo = hub.add_model(GPT_OSS, source, shards=3)
        pr_sha = repo.add_commit(model_files(source, shards=2), "refs/pr/3")
        api = HfApi(endpoint=hub.endpoint, token=False)

        info = api.model_info(GPT_OSS, revision="refs/pr/3", files_metadata=True)
        assert info.sha == pr_sha
        sizes = {s.rfilename: s.size for s in info.siblings}
        assert sizes == {n: vf.size for n, vf in repo.commits[pr_sha].items()}
        url = hf_hub_url(GPT_OSS, "model-00001-of-00003.safetensors", endpoint=hub.endpoint)
        meta = get_hf_file_metadata(url, token=False)
        assert meta.commit_hash == repo.sha and meta.size > 10**9  # HEAD through the redirect
        path = hf_hub_download(GPT_OSS, "config.json", endpoint=hub.endpoint, token=False,
                               cache_dir=tmp_path)
        assert json.loads(Path(path).read_text()) == source.config
        assert len(api.get_safetensors_metadata(GPT_OSS).weight_map) == 459
        with pytest.raises(RepositoryNotFoundError):
            api.model_info("nobody/nothing")
        with pytest.raises(RevisionNotFoundError):
            api.model_info(GPT_OSS, revision="nope")
