"""The strict GGUF header reader against llama.cpp's own writer and reader (gguf-py), and
hostile inputs built byte by byte from the format (ggml `docs/gguf.md`): magic, u32 version,
u64 counts, key/value pairs (u64-length strings, u32 type, value; arrays: u32 item type, u64
count), tensor infos (name, u32 n_dims, u64 ne[], u32 type, u64 offset), padding to
`general.alignment`."""

from __future__ import annotations

import struct
from pathlib import Path

import gguf
import pytest
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V

from archlint.errors import HeaderError
from archlint.source.gguf_header import (
    FIRST_READ_BYTES,
    ArraySummary,
    NeedMoreBytes,
    parse_gguf,
    read_local_gguf,
)
from tests.gguf_files import llama_kv, llama_tensors, nbytes_of, write_gguf

SMALL = dict(layers=2, hidden=256, heads=4, kv_heads=2, ffn=512)


def small_file(tmp_path: Path, **extra: object) -> tuple[Path, int]:
    path = tmp_path / "small.gguf"
    size = write_gguf(path, "llama", llama_kv(**SMALL, tokens=300),
                      llama_tensors(**SMALL, vocab=512), **extra)  # type: ignore[arg-type]
    return path, size


# -- agreement with gguf-py ----------------------------------------------------------------------

def test_every_value_type_round_trips(tmp_path: Path) -> None:
    kv = {
        "t.u8": (250, V.UINT8), "t.i8": (-120, V.INT8), "t.u16": (65000, V.UINT16),
        "t.i16": (-32000, V.INT16), "t.u32": (4_000_000_000, V.UINT32),
        "t.i32": (-2_000_000_000, V.INT32), "t.f32": (0.5, V.FLOAT32), "t.bool": (True, V.BOOL),
        "t.str": ("héllo ☃", V.STRING), "t.u64": (2**64 - 1, V.UINT64),
        "t.i64": (-(2**63), V.INT64), "t.f64": (1e300, V.FLOAT64),
        "t.arr_i32": ([1, -2, 3], V.ARRAY, V.INT32),
        "t.arr_str": (["a", "bc", ""], V.ARRAY, V.STRING),
        "t.arr_bool": ([True, False], V.ARRAY, V.BOOL),
        "t.nested": ([[1, 2], [3]], V.ARRAY, V.ARRAY),
    }
    path = tmp_path / "types.gguf"
    write_gguf(path, "llama", kv, [("token_embd.weight", (4, 32), Q.F16)])
    parsed, _ = read_local_gguf(path)
    for key, spec in kv.items():
        assert parsed.metadata[key] == spec[0], key
    assert parsed.value_types["t.nested"] == "ARRAY[ARRAY]"
    assert parsed.value_types["t.arr_str"] == "ARRAY[STRING]"
    # gguf's reader agrees on every key and on where the data starts
    reader = gguf.GGUFReader(path)
    assert {k for k in reader.fields if not k.startswith("GGUF.")} == set(parsed.metadata)
    assert reader.fields["t.str"].contents() == parsed.metadata["t.str"]
    assert reader.data_offset == parsed.data_offset
    # nested arrays are valid GGUF but ggml's C reader refuses them: reported
    assert [p.code for p in parsed.problems] == ["AL027"]


def test_tensor_table_matches_writer_and_reader(tmp_path: Path) -> None:
    path, size = small_file(tmp_path)
    parsed, file_size = read_local_gguf(path)
    assert file_size == size
    written = llama_tensors(**SMALL, vocab=512)  # type: ignore[arg-type]
    assert [(t.name, t.shape, t.dtype) for t in parsed.tensors] == [
        (name, shape, qtype.name) for name, shape, qtype in written]
    reader = gguf.GGUFReader(path)
    by_name = {t.name: t for t in reader.tensors}
    for tensor in parsed.tensors:
        theirs = by_name[tensor.name]
        # gguf-py keeps ggml's ne order; archlint keeps PyTorch order (ne reversed)
        assert tuple(int(d) for d in theirs.shape) == tuple(reversed(tensor.shape))
        assert int(theirs.data_offset) - reader.data_offset == tensor.start
        assert int(theirs.n_bytes) == tensor.end - tensor.start == tensor.nbytes
        assert tensor.nbytes == nbytes_of(tensor.shape, Q[tensor.dtype])
    assert parsed.problems == []
    assert parsed.metadata["tokenizer.ggml.tokens"] == [f"t{i}" for i in range(300)]


def test_long_arrays_keep_their_length(tmp_path: Path) -> None:
    path = tmp_path / "vocab.gguf"
    kv = {"tokenizer.ggml.tokens": ([f"tok{i}" for i in range(10_000)], V.ARRAY, V.STRING),
          "tokenizer.ggml.scores": ([0.0] * 10_000, V.ARRAY, V.FLOAT32)}
    write_gguf(path, "llama", kv, [("token_embd.weight", (10_000, 32), Q.Q8_0)])
    parsed, _ = read_local_gguf(path)
    assert parsed.metadata["tokenizer.ggml.tokens"] == ArraySummary("STRING", 10_000)
    assert parsed.metadata["tokenizer.ggml.scores"] == ArraySummary("FLOAT32", 10_000)


def test_big_endian_file(tmp_path: Path) -> None:
    path = tmp_path / "be.gguf"
    writer = gguf.GGUFWriter(path, "llama", endianess=gguf.GGUFEndian.BIG)
    writer.add_uint32("llama.block_count", 7)
    writer.add_tensor_info("token_embd.weight", (8, 32), __import__("numpy").dtype("float32"),
                           8 * 32 * 4)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    parsed = parse_gguf(path.read_bytes() + bytes(2048), file_name="be.gguf")
    assert parsed.byte_order == "big"
    assert parsed.metadata["llama.block_count"] == 7
    assert parsed.tensors[0].shape == (8, 32)


def test_alignment_key_moves_the_data_section(tmp_path: Path) -> None:
    path = tmp_path / "aligned.gguf"
    write_gguf(path, "llama", {}, [("a.weight", (3, 32), Q.F32), ("b.weight", (5, 32), Q.F16)],
               alignment=256)
    parsed, _ = read_local_gguf(path)
    assert parsed.alignment == 256
    assert parsed.data_offset % 256 == 0
    assert [t.start for t in parsed.tensors] == [0, 512]  # 384 B padded to 512
    assert parsed.problems == []
    assert gguf.GGUFReader(path).data_offset == parsed.data_offset


# -- growing reads ---------------------------------------------------------------------------------

def test_prefix_asks_for_more_until_the_header_fits(tmp_path: Path) -> None:
    path, size = small_file(tmp_path)
    data = path.read_bytes()
    full = parse_gguf(data, file_name="x", file_size=size)
    have, trips = 64, 0
    while True:
        trips += 1
        try:
            parsed = parse_gguf(data[:have], file_name="x", file_size=size)
            break
        except NeedMoreBytes as more:
            assert more.needed > have
            have = more.estimate
    assert parsed.tensors == full.tensors
    assert trips <= 4
    assert FIRST_READ_BYTES >= 1024 * 1024


def test_estimate_covers_a_vocabulary_in_one_more_read(tmp_path: Path) -> None:
    path = tmp_path / "vocab.gguf"
    kv = {"tokenizer.ggml.tokens": ([f"token-{i:06d}" for i in range(200_000)], V.ARRAY,
                                    V.STRING)}
    size = write_gguf(path, "llama", kv, [("token_embd.weight", (200_000, 32), Q.Q8_0)])
    data = path.read_bytes()
    with pytest.raises(NeedMoreBytes) as more:
        parse_gguf(data[: 1024 * 1024], file_name="x", file_size=size)
    parse_gguf(data[: more.value.estimate], file_name="x", file_size=size)


def test_estimate_covers_a_bpe_vocabulary_and_its_merges(tmp_path: Path) -> None:
    """A BPE ("gpt2") vocabulary is followed by its token types and merges (as llama.cpp's
    converter writes them): a first read cut inside the tokens asks for enough to reach the
    tensor infos in one more read. Here 150k tokens of 12 bytes and 150k merges of 25."""
    path = tmp_path / "bpe.gguf"
    n = 150_000
    kv = {"tokenizer.ggml.model": ("gpt2", V.STRING),
          "tokenizer.ggml.tokens": ([f"token-{i:06d}" for i in range(n)], V.ARRAY, V.STRING),
          "tokenizer.ggml.token_type": ([1] * n, V.ARRAY, V.INT32),
          "tokenizer.ggml.merges": ([f"token-{i:06d} token-{i + 1:06d}" for i in range(n)],
                                    V.ARRAY, V.STRING)}
    size = write_gguf(path, "qwen2", kv, [("token_embd.weight", (n, 32), Q.Q8_0)])
    data = path.read_bytes()
    with pytest.raises(NeedMoreBytes) as more:
        parse_gguf(data[: 1024 * 1024], file_name="x", file_size=size)
    parsed = parse_gguf(data[: more.value.estimate], file_name="x", file_size=size)
    assert parsed.metadata["tokenizer.ggml.merges"].length == n
    assert more.value.estimate < 2 * parsed.data_offset  # not a blind doubling


def test_a_forged_length_inside_a_long_vocabulary(tmp_path: Path) -> None:
    """The unchecked fast walk falls back to the checked one, which names the item."""
    items = b"".join(s(f"t{i}") for i in range(5000))
    at = sum(8 + len(f"t{i}") for i in range(4000))
    forged = items[:at] + struct.pack("<Q", 2**63 + 5) + items[at + 8:]
    kv = s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 5000) + forged
    data = gguf_bytes(kv, 1)
    with pytest.raises(HeaderError, match=r"item 4000 of 'tokenizer\.ggml\.tokens' claims"):
        parse_gguf(data, file_name="x", file_size=len(data))


# -- hostile inputs --------------------------------------------------------------------------------

def gguf_bytes(kv: bytes = b"", n_kv: int = 0, tensors: bytes = b"", n_tensors: int = 0,
               version: int = 3, magic: bytes = b"GGUF", tail: int = 64) -> bytes:
    return (magic + struct.pack("<IQQ", version, n_tensors, n_kv) + kv + tensors
            + bytes(tail))


def s(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def tensor_info(name: str, ne: list[int], qtype: int, offset: int) -> bytes:
    return (s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
            + struct.pack("<IQ", qtype, offset))


@pytest.mark.parametrize(("data", "words"), [
    (b"GGU", "needs 8 bytes"),
    (gguf_bytes(magic=b"\x08\x00\x00\x00"), "not a GGUF file"),
    (gguf_bytes(version=1), "version 1"),
    (gguf_bytes(version=4), "version 4"),
    (gguf_bytes(n_kv=2**40), "limit"),
    (gguf_bytes(n_kv=1000), "more than"),
    (gguf_bytes(s("k") + struct.pack("<I", 13), 1), "type 13"),
    (gguf_bytes(struct.pack("<Q", 2**62), 1), "claims"),
    (gguf_bytes(s("k") + struct.pack("<I", 8) + struct.pack("<Q", 10**9), 1), "claims"),
    (gguf_bytes(s("k") + struct.pack("<IIQ", 9, 6, 2**40), 1), "claims"),
    (gguf_bytes(s("k") + struct.pack("<IIQ", 9, 77, 1), 1), "type 77"),
    (gguf_bytes(s(b"\xff\xfe") + struct.pack("<IB", 0, 1), 1), "UTF-8"),
    (gguf_bytes(n_tensors=2**30), "limit"),
], ids=["short", "magic", "v1", "v4", "kv-cap", "kv-count", "bad-type", "key-length",
        "string-length", "array-length", "array-type", "key-utf8", "tensor-cap"])
def test_fatal_defects(data: bytes, words: str) -> None:
    with pytest.raises(HeaderError) as err:
        parse_gguf(data, file_name="bad.gguf")
    assert err.value.code == "AL020"
    assert words in str(err.value)


def test_truncated_everywhere_is_one_clean_error(tmp_path: Path) -> None:
    path, _ = small_file(tmp_path)
    data = path.read_bytes()
    header = parse_gguf(data, file_name="x").data_offset
    for cut in range(0, header - 1, 97):
        with pytest.raises(HeaderError):
            parse_gguf(data[:cut], file_name="x")


def test_recoverable_defects_are_problems() -> None:
    kv = s("general.alignment") + struct.pack("<II", 4, 48)  # not a power of two
    kv += s("t.flag") + struct.pack("<IB", 7, 2)
    kv += s("t.dup") + struct.pack("<IB", 0, 1) + s("t.dup") + struct.pack("<IB", 0, 2)
    kv += s("t.text") + struct.pack("<I", 8) + s(b"caf\xe9")
    tensors = (tensor_info("a.weight", [32, 2], 0, 0)         # 256 B
               + tensor_info("b.weight", [32, 2], 0, 128)     # overlaps a
               + tensor_info("c.weight", [33], 12, 512)       # Q4_K rows of 33: not 256-blocks
               + tensor_info("d.weight", [32], 31, 1024)      # removed type Q4_0_4_4
               + tensor_info("a.weight", [32], 0, 2048)       # duplicate name
               + tensor_info("e.weight", [32, 1, 1, 1], 0, 4096)    # past the end
               + tensor_info("f.weight", [1, 1, 1, 1, 1], 0, 8192))  # 5 dims
    data = gguf_bytes(kv, 5, tensors, 7, tail=1000)
    parsed = parse_gguf(data, file_name="odd.gguf", file_size=len(data))
    codes = sorted({p.code for p in parsed.problems})
    assert codes == ["AL021", "AL022", "AL023", "AL024", "AL025", "AL026", "AL027"]
    text = " ".join(p.message for p in parsed.problems)
    assert "Q4_0_4_4, removed from ggml" in text
    assert "overlaps" in text
    assert parsed.metadata["t.flag"] is True
    assert parsed.alignment == 32


def test_forged_tensor_dims_cost_nothing() -> None:
    tensors = s("x") + struct.pack("<I", 2**31)
    with pytest.raises(HeaderError, match="claims"):
        parse_gguf(gguf_bytes(tensors=tensors, n_tensors=1), file_name="dims.gguf")


# -- committed broken corpus -----------------------------------------------------------------------

BROKEN = Path(__file__).resolve().parents[1] / "fixtures" / "broken" / "gguf"


def _manifest() -> dict[str, dict[str, object]]:
    import json

    return json.loads((BROKEN / "EXPECTED.json").read_text())


@pytest.mark.parametrize("name", sorted(_manifest()))
def test_broken_gguf_files(name: str) -> None:
    expected = _manifest()[name]
    if "fatal" in expected:
        with pytest.raises(HeaderError) as info:
            read_local_gguf(BROKEN / name)
        assert info.value.code == expected["fatal"]
    else:
        parsed, _ = read_local_gguf(BROKEN / name)
        assert sorted({p.code for p in parsed.problems}) == expected["problems"]


def test_broken_gguf_files_match_their_generator() -> None:
    import runpy

    script = runpy.run_path(str(BROKEN.parents[2] / "scripts" / "make_gguf_broken.py"))
    for name, (payload, expected) in script["CASES"].items():
        assert (BROKEN / name).read_bytes() == payload, f"re-run make_gguf_broken.py: {name}"
        assert _manifest()[name] == expected
    assert sorted(script["CASES"]) == sorted(_manifest())
