"""Parameter counts and weight bytes against sources outside the code.

Every expected number below comes from the model's own files or documentation, as recorded
in the fixture provenance (scripts/make_fixtures.py converts them): an index's
`metadata.total_size`, a tensor-table re-sum, a model card or paper. Exact where the source is
exact; where the source rounds ("46.7B"), the tolerance is half a unit of the last digit quoted.
"""

from __future__ import annotations

import pytest

from archlint.analysis.params import count_from_spec
from archlint.api import spec_of
from tests.helpers import analysis, fixture

# (model, exact parameter count, source)
EXACT_FROM_INDEX = [
    # index total_size / 2 bytes (all-bf16/fp16 checkpoints store every parameter once)
    ("mistralai/Mistral-7B-Instruct-v0.1", 14_483_464_192 // 2, "index total_size 14,483,464,192"),
    ("mistralai/Mistral-7B-Instruct-v0.3", 14_496_047_104 // 2, "index total_size 14,496,047,104"),
    ("meta-llama/Meta-Llama-3-8B", 16_060_522_496 // 2, "index total_size 16,060,522,496"),
    ("google/gemma-2b-it", 5_012_344_832 // 2, "index total_size 5,012,344,832 (tied head)"),
    ("bigscience/bloom", 176_247_271_424, "README: 176,247,271,424 parameters"),
    # llama-7b's index also holds 32 fp32 rotary inv_freq buffers of 64 values: 8,192 bytes.
    ("huggyllama/llama-7b", (13_476_839_424 - 32 * 64 * 4) // 2, "index total_size minus buffers"),
    # falcon-7b's .bin index stores the tied lm_head twice: 65024 × 4544 × 2 B extra.
    (
        "tiiuae/falcon-7b",
        (14_434_379_520 - 65_024 * 4_544 * 2) // 2,
        "bin index minus duplicate head",
    ),
    ("Qwen/Qwen3-30B-A3B", 30_532_122_624, "GGUF general.parameter_count"),
]


@pytest.mark.parametrize("model, expected, source", EXACT_FROM_INDEX)
def test_analytic_count_is_exact(model: str, expected: int, source: str) -> None:
    assert count_from_spec(spec_of(fixture(model))).total == expected, source


# Tensor tables: logical parameters re-summed from the real headers (fixture SOURCE notes).
TENSOR_TOTALS = [
    # 684,531,386,000 stored elements minus 41,540,496 FP8 weight_scale_inv elements
    ("deepseek-ai/DeepSeek-R1", 684_531_386_000 - 41_540_496, 688_574_839_360),
    # MXFP4 blocks hold two values per byte; the de-quantised bf16 copy has 20,914,757,184 elements
    ("openai/gpt-oss-20b", 20_914_757_184, 13_761_264_768),
    ("deepseek-ai/DeepSeek-V2-Lite", 15_706_484_224, 31_412_968_448),
    ("Qwen/Qwen3-Next-80B-A3B-Instruct", 81_324_862_720, 162_649_725_440),
]


@pytest.mark.parametrize("model, logical, stored_bytes", TENSOR_TOTALS)
def test_tensor_counts_unpack_quantized_weights(
    model: str, logical: int, stored_bytes: int
) -> None:
    a = analysis(model)
    assert a.profile.params.method == "tensors"
    assert a.profile.params.total == logical
    assert a.profile.weights.bytes == stored_bytes


def test_deepseek_main_model_and_mtp_split() -> None:
    # SOURCE: 684,489,845,504 logical = 671,026,419,200 main + 13,463,426,304 MTP (layer 61)
    p = analysis("deepseek-ai/DeepSeek-R1").profile.params
    assert p.main_model == 671_026_419_200
    assert p.by_component["mtp"] == 13_463_426_304


def test_deepseek_v2_lite_config_and_tensors_agree() -> None:
    # DeepSeek's native inference config (dim/n_layers/...) must give the tensor-table count.
    a = analysis("deepseek-ai/DeepSeek-V2-Lite")
    assert a.profile.params_from_config.total == a.profile.params.total == 15_706_484_224


ROUNDED = [
    # model, published total, published active, tolerance (half a unit of the digit quoted)
    ("mistralai/Mixtral-8x7B-v0.1", 46.7e9, 12.9e9, 0.05e9, "model page: 46.7B / 12.9B"),
    ("meta-llama/Llama-3.1-8B-Instruct", 8.03e9, 8.03e9, 0.005e9, "8,030,261,248 derived index"),
    ("microsoft/Phi-3-mini-4k-instruct", 3.8e9, 3.8e9, 0.05e9, "model card: 3.8B"),
    ("google-t5/t5-base", 220e6, 220e6, 5e6, "README: 220 million"),
    ("openai-community/gpt2-xl", 1.5e9, 1.5e9, 0.1e9, "README: 1.5B"),
]


@pytest.mark.parametrize("model, total, active, tol, source", ROUNDED)
def test_published_rounded_figures(
    model: str, total: float, active: float, tol: float, source: str
) -> None:
    p = analysis(model).profile.params
    assert abs(p.total - total) <= tol, source
    assert abs(p.active - active) <= tol, source


def test_gpt_oss_active_excludes_input_embedding() -> None:
    # Model card: 20.9B total, 3.6B active, active quoted without the input embedding.
    p = analysis("openai/gpt-oss-20b").profile.params
    assert abs(p.total - 20.9e9) <= 0.05e9
    assert abs(p.active_excluding_embedding - 3.6e9) <= 0.05e9


def test_deepseek_v3_active() -> None:
    # README: "671B total parameters with 37B activated for each token". 37B is rounded to the
    # unit, so ±0.6B (the README_WEIGHTS breakdown, 36.7B, is within it as well).
    p = analysis("deepseek-ai/DeepSeek-V3").profile.params
    assert abs(p.active - 37e9) <= 0.6e9
    assert abs(p.main_model - 671e9) <= 0.5e9 + 11.6e9  # config-only: MTP counted once


def test_llama4_scout_active() -> None:
    # Model card: 17B active, 109B total including the vision tower, which this trimmed
    # config lacks; the text model alone must be below 109B and above 105B.
    p = analysis("meta-llama/Llama-4-Scout-17B-16E-Instruct").profile.params
    assert abs(p.active - 17e9) <= 0.5e9
    assert 105e9 < p.total < 109e9


def test_qwen3_next_totals() -> None:
    # Published 80B total / 3B activated ("A3B"): main model ≈ 80B; active without the
    # input embedding within the A3B class (3.0 ≤ x < 4.0B).
    p = analysis("Qwen/Qwen3-Next-80B-A3B-Instruct").profile.params
    assert abs(p.main_model - 80e9) <= 0.5e9
    assert 3.0e9 <= p.active_excluding_embedding < 4.0e9


def test_qwen3_moe_active_exact() -> None:
    # SOURCE: GGUF/third-party counts give total 30,532,122,624 and active 3,353,032,704
    # (the model card's "3.3B activated" truncates 3.35B).
    p = analysis("Qwen/Qwen3-30B-A3B").profile.params
    assert (p.total, p.active) == (30_532_122_624, 3_353_032_704)
