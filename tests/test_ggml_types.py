"""The ggml type table against llama.cpp's own Python package (gguf-py) and hand-computed
block layouts from ggml-common.h."""

from __future__ import annotations

import gguf

from archlint.ggml_types import (
    GGML_BY_NAME,
    GGML_TYPES,
    LLAMA_FILE_TYPES,
    REMOVED_TYPES,
    tensor_bytes,
)


def test_every_type_gguf_py_knows_has_the_same_id_and_name() -> None:
    ours = {t.id: t.name for t in GGML_TYPES.values()}
    theirs = {int(t): t.name for t in gguf.GGMLQuantizationType}
    assert ours == theirs


def test_block_sizes_match_gguf_py_except_q8_1() -> None:
    for qtype, (block, size) in gguf.GGML_QUANT_SIZES.items():
        ours = GGML_TYPES[int(qtype)]
        assert ours.block_size == block, qtype.name
        if qtype.name == "Q8_1":
            # ggml-common.h: block_q8_1 is {ggml_half d, ggml_half s, int8 qs[32]} with
            # static_assert(sizeof == 2*sizeof(ggml_half) + QK8_1) = 36; gguf-py still
            # lists 4 + 4 + 32 from when d and s were floats. Q8_1 is never stored in files.
            assert (size, ours.block_bytes) == (40, 36)
            continue
        assert ours.block_bytes == size, qtype.name


def test_bits_per_weight_by_hand() -> None:
    # Q4_K: 2 f16 scales (4 B) + 12 B of 6-bit sub-scales + 128 B of nibbles per 256 values
    assert GGML_BY_NAME["Q4_K"].bits_per_weight == (4 + 12 + 128) * 8 / 256 == 4.5
    # Q6_K: 128 B low nibbles + 64 B high 2 bits + 16 B int8 scales + f16 = 210 B / 256
    assert GGML_BY_NAME["Q6_K"].bits_per_weight == 6.5625
    # Q8_0: f16 + 32 int8 per 32 values
    assert GGML_BY_NAME["Q8_0"].bits_per_weight == 8.5
    # MXFP4: one E8M0 scale + 16 B of fp4 pairs per 32 values (OCP MX v1.0)
    assert GGML_BY_NAME["MXFP4"].bits_per_weight == 4.25
    assert GGML_BY_NAME["IQ2_XXS"].bits_per_weight == 2.0625


def test_tensor_bytes_whole_blocks_per_row() -> None:
    assert tensor_bytes("Q4_K", (4096, 4096)) == 4096 * 16 * 144
    assert tensor_bytes("F32", (4096,)) == 4096 * 4
    assert tensor_bytes("Q4_K", (10, 100)) is None  # a row of 100 is not whole 256-blocks
    assert tensor_bytes("NOPE", (1,)) is None


def test_file_types_match_llama_ftype() -> None:
    theirs = {int(t): t.name.removeprefix("MOSTLY_") for t in gguf.LlamaFileType
              if t.name != "GUESSED"}
    theirs[0] = "F32"  # ALL_F32
    assert {k: v for k, v in LLAMA_FILE_TYPES.items() if k in theirs} == theirs
    assert set(LLAMA_FILE_TYPES) - set(theirs) == {4}  # MOSTLY_Q4_1_SOME_F16, commented out


def test_removed_ids_are_not_live() -> None:
    assert not set(REMOVED_TYPES) & set(GGML_TYPES)
