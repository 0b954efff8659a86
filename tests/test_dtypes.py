"""archlint/dtypes.py is the one dtype table: its names agree with torch's and with the
safetensors library's own code for each torch dtype (safetensors.torch `_TYPES`), and the
GGUF reader and the tensor-shape inference state a checkpoint's dtype through it."""

from __future__ import annotations

import pytest

from archlint.dtypes import (
    CODE_TO_NAME,
    CODE_TO_TORCH_DTYPE,
    DTYPE_BITS,
    FLOAT_CODES,
    FLOAT_NAMES,
    TORCH_DTYPE_TO_CODE,
    canonical_name,
    torch_name,
)


@pytest.mark.parametrize("code", sorted(CODE_TO_TORCH_DTYPE))
def test_torch_name_is_torchs_dtype_of_that_safetensors_code(code: str) -> None:
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    dtype = getattr(torch, CODE_TO_TORCH_DTYPE[code])
    assert st._TYPES[code] is dtype  # the library's own code table
    assert dtype.itemsize * 8 == DTYPE_BITS[code]
    assert TORCH_DTYPE_TO_CODE[CODE_TO_TORCH_DTYPE[code]] == code


def test_float_codes_and_names() -> None:
    # the three dtypes a whole checkpoint is stored in without quantization
    assert set(FLOAT_CODES) == {"F32", "F16", "BF16"}
    assert FLOAT_NAMES == tuple(CODE_TO_NAME[c] for c in FLOAT_CODES) == ("fp32", "fp16", "bf16")
    assert [canonical_name(CODE_TO_TORCH_DTYPE[c]) for c in FLOAT_CODES] == list(FLOAT_NAMES)


def test_gguf_file_type_states_the_torch_dtype() -> None:
    """llama.cpp's `general.file_type` 32 is MOSTLY_BF16 (llama.h `LLAMA_FTYPE_MOSTLY_BF16`), 1
    MOSTLY_F16, 0 ALL_F32: the config states them as torch names; a quantized type (15,
    Q4_K_M) states no torch dtype and a quantization_config instead."""
    from archlint.source.gguf_config import config_from_gguf

    def dtype_of(file_type: int) -> tuple[object, object]:
        config, _, _ = config_from_gguf({"general.architecture": "llama",
                                         "general.file_type": file_type}, None)
        assert config is not None
        return config.get("torch_dtype"), (config.get("quantization_config") or {}).get(
            "file_type")

    assert dtype_of(32) == ("bfloat16", None)
    assert dtype_of(1) == ("float16", None)
    assert dtype_of(0) == ("float32", None)
    assert dtype_of(15) == (None, "Q4_K_M")


@pytest.mark.parametrize(("name", "bits"), [("bf16", 16), ("fp16", 16), ("fp32", 32),
                                            ("fp8_e4m3", 8), ("fp8_e5m2", 8), ("bfloat16", 16)])
def test_bench_dtype_names_are_torch_dtypes_of_that_width(name: str, bits: int) -> None:
    """The GPU bench allocates caches with `getattr(torch, torch_name(...))`: each short name
    is a torch dtype of the width its name says (torch's own itemsize)."""
    torch = pytest.importorskip("torch")
    attr = torch_name(name)
    assert attr is not None
    assert getattr(torch, attr).itemsize * 8 == bits


def test_an_unknown_name_has_no_torch_dtype() -> None:
    assert torch_name("fp6_weird") is None
