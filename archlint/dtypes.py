"""The safetensors dtype table: the 22 codes the format defines and their storage width.

Source: the safetensors format spec (huggingface/safetensors, `Dtype` enum) — sub-byte types
(F4, F6_*) are packed, so width is kept in bits and byte lengths are `elements * bits / 8`.
"""

from __future__ import annotations

#: bits of storage per element, by safetensors dtype code.
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}

#: config `torch_dtype` / `dtype` spellings → safetensors code.
TORCH_DTYPE_TO_CODE: dict[str, str] = {
    "float32": "F32",
    "float": "F32",
    "float16": "F16",
    "half": "F16",
    "bfloat16": "BF16",
    "float64": "F64",
    "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2",
    "int8": "I8",
    "uint8": "U8",
}

#: safetensors code → the name a config's `torch_dtype` states it with (torch's attribute): the
#: inverse of TORCH_DTYPE_TO_CODE without its aliases
CODE_TO_TORCH_DTYPE: dict[str, str] = {
    code: name for name, code in TORCH_DTYPE_TO_CODE.items() if name not in ("float", "half")
}

#: the unquantized float codes a checkpoint is stored and loaded in as a whole (the dtypes
#: transformers' `dtype="auto"` and vLLM's `dtype="auto"` keep or cast between)
FLOAT_CODES: tuple[str, ...] = ("F32", "F16", "BF16")

#: user-facing cache/compute dtype names (`--kv-dtype`, `--dtype`) → bytes per element.
NAMED_DTYPE_BYTES: dict[str, float] = {
    "fp32": 4,
    "float32": 4,
    "f32": 4,
    "fp16": 2,
    "float16": 2,
    "f16": 2,
    "half": 2,
    "bf16": 2,
    "bfloat16": 2,
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
    "int8": 1,
    "fp4": 0.5,
    "int4": 0.5,
    "nvfp4": 0.5,
}

#: safetensors code → the short name used in reports.
CODE_TO_NAME: dict[str, str] = {
    "F32": "fp32",
    "F16": "fp16",
    "BF16": "bf16",
    "F64": "fp64",
    "F8_E4M3": "fp8_e4m3",
    "F8_E5M2": "fp8_e5m2",
    "I8": "int8",
    "U8": "uint8",
}


#: the short names of FLOAT_CODES (`fp32`, `fp16`, `bf16`)
FLOAT_NAMES: tuple[str, ...] = tuple(CODE_TO_NAME[code] for code in FLOAT_CODES)


def named_dtype_bytes(name: str) -> float:
    """Bytes per element of a user-facing dtype name (`bf16`, `fp8`, ...)."""
    key = name.strip().lower()
    if key in NAMED_DTYPE_BYTES:
        return NAMED_DTYPE_BYTES[key]
    code = TORCH_DTYPE_TO_CODE.get(key)
    if code is None:
        raise KeyError(name)
    return DTYPE_BITS[code] / 8


def torch_name(name: str) -> str | None:
    """The torch attribute of a short or config dtype name (`bf16` → `bfloat16`,
    `fp8_e4m3` → `float8_e4m3fn`), None when torch has no such dtype: what the GPU bench
    allocates with (`getattr(torch, torch_name(...))`) without this module importing torch."""
    key = name.strip().lower()
    if key in TORCH_DTYPE_TO_CODE:
        return CODE_TO_TORCH_DTYPE[TORCH_DTYPE_TO_CODE[key]]
    short = canonical_name(key)
    code = next((c for c, n in CODE_TO_NAME.items() if n == short), None)
    return CODE_TO_TORCH_DTYPE.get(code) if code else None


def canonical_name(name: str) -> str:
    """`bfloat16` → `bf16`, `float8_e4m3fn` → `fp8_e4m3`; unknown names pass through lowered."""
    key = name.strip().lower()
    code = TORCH_DTYPE_TO_CODE.get(key)
    if code is not None:
        return CODE_TO_NAME.get(code, key)
    return {"half": "fp16", "float": "fp32", "fp8": "fp8_e4m3"}.get(key, key)
