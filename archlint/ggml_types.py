"""Every ggml tensor type a GGUF file can name: id, block size, bytes per block.

A ggml tensor is stored in blocks: `block_size` consecutive values of a row packed into
`block_bytes` bytes (scales included), so a row of `n` values takes `n / block_size *
block_bytes` bytes and `n` must be a multiple of the block size. Source: ggml's `ggml.h`
(`enum ggml_type`, ids) and `ggml-common.h` (the `block_*` structs and the `static_assert`
on each struct's size), QK_K = 256 for the k-quants and i-quants:

- Q4_0: f16 scale + 16 B nibbles (32 values); Q4_1 adds an f16 min; Q5_0/Q5_1 add 4 B of
  5th bits; Q8_0: f16 scale + 32 int8; Q8_1: f16 scale + f16 sum + 32 int8 (`2*sizeof(
  ggml_half) + QK8_1` = 36; gguf-py's table still says 40, from when both were floats).
- Q2_K 84 B, Q3_K 110 B, Q4_K 144 B, Q5_K 176 B, Q6_K 210 B, Q8_K 292 B per 256 values.
- IQ2_XXS 66, IQ2_XS 74, IQ2_S 82, IQ3_XXS 98, IQ3_S 110, IQ1_S 50, IQ1_M 56, IQ4_XS 136
  per 256; IQ4_NL 18 per 32; TQ1_0 54 and TQ2_0 66 per 256; MXFP4 17 per 32 (one E8M0
  scale + 16 B of fp4, OCP Microscaling v1.0); NVFP4 36 per 64; Q1_0 18 per 128.

`LLAMA_FILE_TYPES` is llama.cpp's `enum llama_ftype` (`llama.h`), the value of
`general.file_type`: the recipe a file was quantized with, not one tensor type.
"""

from __future__ import annotations

from dataclasses import dataclass

QK_K = 256


@dataclass(frozen=True, slots=True)
class GgmlType:
    id: int
    name: str
    block_size: int  # values per block
    block_bytes: int  # bytes per block, scales included

    @property
    def bits_per_weight(self) -> float:
        return self.block_bytes * 8 / self.block_size

    def row_bytes(self, values: int) -> int | None:
        """Bytes of a row of `values`; None when the row is not a whole number of blocks."""
        blocks, rest = divmod(values, self.block_size)
        return None if rest else blocks * self.block_bytes


_TABLE: tuple[tuple[int, str, int, int], ...] = (
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 2 + 16),
    (3, "Q4_1", 32, 2 + 2 + 16),
    (6, "Q5_0", 32, 2 + 4 + 16),
    (7, "Q5_1", 32, 2 + 2 + 4 + 16),
    (8, "Q8_0", 32, 2 + 32),
    (9, "Q8_1", 32, 2 + 2 + 32),
    (10, "Q2_K", QK_K, QK_K // 16 + QK_K // 4 + 2 + 2),
    (11, "Q3_K", QK_K, QK_K // 8 + QK_K // 4 + 12 + 2),
    (12, "Q4_K", QK_K, 2 + 2 + 12 + QK_K // 2),
    (13, "Q5_K", QK_K, 2 + 2 + 12 + QK_K // 8 + QK_K // 2),
    (14, "Q6_K", QK_K, QK_K // 2 + QK_K // 4 + QK_K // 16 + 2),
    (15, "Q8_K", QK_K, 4 + QK_K + 2 * (QK_K // 16)),
    (16, "IQ2_XXS", QK_K, 2 + 2 * (QK_K // 8)),
    (17, "IQ2_XS", QK_K, 2 + 2 * (QK_K // 8) + QK_K // 32),
    (18, "IQ3_XXS", QK_K, 2 + 3 * QK_K // 8),
    (19, "IQ1_S", QK_K, 2 + QK_K // 8 + 2 * (QK_K // 32)),
    (20, "IQ4_NL", 32, 2 + 16),
    (21, "IQ3_S", QK_K, 2 + QK_K // 4 + QK_K // 32 + QK_K // 8 + QK_K // 64),
    (22, "IQ2_S", QK_K, 2 + QK_K // 4 + QK_K // 32 + QK_K // 32),
    (23, "IQ4_XS", QK_K, 2 + 2 + QK_K // 64 + QK_K // 2),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", QK_K, QK_K // 8 + QK_K // 16 + QK_K // 32),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", QK_K, (QK_K - 4 * QK_K // 64) // 5 + QK_K // 64 + 2),
    (35, "TQ2_0", QK_K, QK_K // 4 + 2),
    (39, "MXFP4", 32, 1 + 16),
    (40, "NVFP4", 64, 4 + 32),
    (41, "Q1_0", 128, 2 + 16),
)

#: ggml type id → type.
GGML_TYPES: dict[int, GgmlType] = {row[0]: GgmlType(*row) for row in _TABLE}
#: ggml type name → type (the names TensorInfo.dtype holds for GGUF tensors).
GGML_BY_NAME: dict[str, GgmlType] = {t.name: t for t in GGML_TYPES.values()}

#: Ids ggml once used and has removed; a file naming one cannot be loaded by today's llama.cpp.
REMOVED_TYPES: dict[int, str] = {
    4: "Q4_2",
    5: "Q4_3",
    31: "Q4_0_4_4",
    32: "Q4_0_4_8",
    33: "Q4_0_8_8",
    36: "IQ4_NL_4_4",
    37: "IQ4_NL_4_8",
    38: "IQ4_NL_8_8",
}

#: Float and integer types: a tensor in one of these is not quantized.
UNQUANTIZED = frozenset({"F32", "F16", "BF16", "F64", "I8", "I16", "I32", "I64"})

#: `general.file_type` (llama.cpp `enum llama_ftype`) → name, without the `MOSTLY_` prefix.
LLAMA_FILE_TYPES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    4: "Q4_1_SOME_F16",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
    39: "NVFP4",
    40: "Q1_0",
}

#: The tensor type a file type's recipe is built around (llama.cpp `llama_model_quantize_impl`
#: picks it as the default type, then raises some tensors: attn_v / ffn_down / output to
#: Q5_K/Q6_K for the _M and _L mixes). A file whose quantized weights hold none of this type
#: was not made by the recipe it declares.
FILE_TYPE_BASE: dict[str, str] = {
    "F32": "F32",
    "F16": "F16",
    "BF16": "BF16",
    "Q4_0": "Q4_0",
    "Q4_1": "Q4_1",
    "Q5_0": "Q5_0",
    "Q5_1": "Q5_1",
    "Q8_0": "Q8_0",
    "Q2_K": "Q2_K",
    "Q2_K_S": "Q2_K",
    "Q3_K_S": "Q3_K",
    "Q3_K_M": "Q3_K",
    "Q3_K_L": "Q3_K",
    "Q4_K_S": "Q4_K",
    "Q4_K_M": "Q4_K",
    "Q5_K_S": "Q5_K",
    "Q5_K_M": "Q5_K",
    "Q6_K": "Q6_K",
    "IQ2_XXS": "IQ2_XXS",
    "IQ2_XS": "IQ2_XS",
    "IQ2_S": "IQ2_S",
    "IQ2_M": "IQ2_S",
    "IQ3_XXS": "IQ3_XXS",
    "IQ3_XS": "IQ3_S",
    "IQ3_S": "IQ3_S",
    "IQ3_M": "IQ3_S",
    "IQ1_S": "IQ1_S",
    "IQ1_M": "IQ1_M",
    "IQ4_NL": "IQ4_NL",
    "IQ4_XS": "IQ4_XS",
    "TQ1_0": "TQ1_0",
    "TQ2_0": "TQ2_0",
    "MXFP4_MOE": "MXFP4",
    "NVFP4": "NVFP4",
    "Q1_0": "Q1_0",
}


def tensor_bytes(type_name: str, shape: tuple[int, ...]) -> int | None:
    """Bytes of a ggml tensor of `shape` (PyTorch order: the last dim is ggml's ne[0], the
    row); None for an unknown type or a row that is not a whole number of blocks."""
    gt = GGML_BY_NAME.get(type_name)
    if gt is None:
        return None
    if not shape:
        return gt.row_bytes(1)
    row = gt.row_bytes(shape[-1])
    if row is None:
        return None
    rows = 1
    for dim in shape[:-1]:
        rows *= dim
    return rows * row
