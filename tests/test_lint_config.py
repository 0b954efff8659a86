"""Lint configuration: where it is found, what it may say, the declared spec, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from archlint.errors import UsageError
from archlint.lint.config import LintConfig, load_config, parse_config
from archlint.lint.finding import Severity
from archlint.lint.project_spec import DeclaredSpec, parse_bytes, parse_count
from archlint.lint.registry import builtin_rules, get_rule

RULES = builtin_rules()


def load(tmp_path: Path, name: str, text: str) -> LintConfig:
    (tmp_path / name).write_text(text)
    return load_config(tmp_path, cwd=tmp_path, rules=RULES)


def enabled(config: LintConfig) -> set[str]:
    return {r.code for r in RULES if config.enabled(r)}


# -- files --------------------------------------------------------------------------------------


def test_no_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path, cwd=tmp_path, rules=RULES)
    assert config == LintConfig()
    assert enabled(config) == {r.code for r in RULES}
    assert config.fail_on == "error"


def test_pyproject_tool_archlint(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "pyproject.toml",
        """
[project]
name = "my-model"

[tool.archlint]
select = ["AL1", "mha-at-scale"]
ignore = ["AL112"]
severity = { AL203 = "error", partial-rotary = "warning" }
fail-on = "warning"

[tool.archlint.spec]
attention = "gqa"
kv_heads = 8
""",
    )
    # AL101-AL114 without the ignored AL112
    assert enabled(config) == {f"AL1{i:02d}" for i in range(1, 15)} - {"AL112"} | {"AL201"}
    assert config.severity_for(get_rule("AL203", RULES)) is Severity.ERROR
    assert config.severity_for(get_rule("AL204", RULES)) is Severity.WARNING
    assert config.severity_for(get_rule("AL201", RULES)) is None
    assert config.fail_on == "warning"
    assert config.spec == DeclaredSpec(attention="gqa", kv_heads=8)
    assert config.source is not None and config.source.endswith("pyproject.toml")


def test_archlint_toml_top_level_and_spec_table(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "archlint.toml",
        """
ignore = ["mixed-dtypes"]
[spec]
experts = 8
experts_per_token = 2
""",
    )
    assert "AL401" not in enabled(config)
    assert config.spec is not None and config.spec.experts == 8


def test_model_dir_wins_over_cwd_and_pyproject_without_section_is_skipped(tmp_path: Path) -> None:
    model, cwd = tmp_path / "model", tmp_path / "cwd"
    model.mkdir()
    cwd.mkdir()
    (model / "pyproject.toml").write_text('[project]\nname = "x"\n')  # no [tool.archlint]
    (cwd / "archlint.toml").write_text('fail-on = "info"\n')
    assert load_config(model, cwd=cwd, rules=RULES).fail_on == "info"
    (model / "archlint.toml").write_text('fail-on = "warning"\n')
    assert load_config(model, cwd=cwd, rules=RULES).fail_on == "warning"
    assert load_config(None, cwd=cwd, rules=RULES).fail_on == "info"


def test_archlint_toml_read_before_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.archlint]\nfail-on = "info"\n')
    (tmp_path / "archlint.toml").write_text('fail-on = "warning"\n')
    assert load_config(tmp_path, cwd=tmp_path, rules=RULES).fail_on == "warning"


# -- selection ----------------------------------------------------------------------------------


def test_more_specific_pattern_wins() -> None:
    assert enabled(LintConfig(select=["AL1"], ignore=["AL101"])) == {
        f"AL1{i:02d}" for i in range(2, 15)
    }
    assert enabled(LintConfig(select=["AL101"], ignore=["AL1"])) == {"AL101"}
    everything_but_spec = ["AL0", "AL1", "AL2", "AL3", "AL4", "AL6"]
    assert enabled(LintConfig(select=["ALL"], ignore=everything_but_spec)) == {
        f"AL50{i}" for i in range(1, 10)
    }
    assert enabled(LintConfig(ignore=["layer-count-mismatch"])) == {r.code for r in RULES} - {
        "AL101"
    }


# -- errors are one line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('selct = ["AL1"]', "unknown archlint setting 'selct'"),
        ('select = ["ZZ9"]', "'ZZ9' matches no rule"),
        ("ignore = [3]", "list of rule codes"),
        ('severity = { AL203 = "fatal" }', "severity.AL203"),
        ('severity = { AL999 = "error" }', "unknown rule 'AL999'"),
        ('options = { AL201 = { min_params = "huge" } }', "AL201 (mha-at-scale) min_params"),
        ("options = { mixed-dtypes = { threshold = 1 } }", "AL401 (mixed-dtypes) threshold"),
        ("options = { AL101 = { x = 1 } }", "AL101 (layer-count-mismatch) x"),
        ('fail-on = "sometimes"', "fail-on"),
        ('[spec]\nmax_active_params = "13X"', "spec.max_active_params"),
        ('[spec]\nattention = "sparse"', "spec.attention"),
        ("[spec]\nkv_head = 8", "spec.kv_head"),
        ('[spec]\ndtype = "float12"', "spec.dtype"),
        ('[spec]\nfits = { gpu = "H100", batch = 0 }', "spec.fits.batch"),
    ('[spec]\nfits = { gpu = "TPU9" }', "spec.fits.gpu"),
        ("select = [", "not valid TOML"),
    ],
)
def test_bad_config_is_a_one_line_usage_error(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(UsageError) as err:
        load(tmp_path, "archlint.toml", text)
    message = err.value.one_line()
    assert fragment in message
    assert "\n" not in message
    assert "archlint.toml" in message


def test_rule_options_are_validated_and_reach_the_rule() -> None:
    config = parse_config({"options": {"AL201": {"min_params": "1B", "kv_heads": 2}}})
    config.resolve(RULES)
    options = config.options_for(get_rule("AL201", RULES))
    assert options.min_params == 1_000_000_000  # type: ignore[attr-defined]
    assert options.kv_heads == 2  # type: ignore[attr-defined]
    defaults = LintConfig().options_for(get_rule("AL201", RULES))
    assert defaults.min_params == 7_000_000_000  # type: ignore[attr-defined]


# -- the declared spec --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["13B", "13e9", 13000000000, "13_000_000_000", 13e9, "13 b"])
def test_counts(value: object) -> None:
    assert parse_count(value) == 13_000_000_000


def test_count_units_and_errors() -> None:
    assert parse_count("1.5T") == 1_500_000_000_000
    assert parse_count("350M") == 350_000_000
    for bad in ("13X", "", "B", True, 1.5, "1.5"):
        with pytest.raises(ValueError):
            parse_count(bad)


def test_byte_sizes() -> None:
    assert parse_bytes(131072) == 131072
    assert parse_bytes("128KiB") == 131072
    assert parse_bytes("128KB") == 128000
    assert parse_bytes("1 MiB") == 1 << 20
    with pytest.raises(ValueError):
        parse_bytes("lots")


def test_full_spec_table(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "pyproject.toml",
        """
[tool.archlint.spec]
attention = "gqa"
kv_heads = 8
experts = 8
experts_per_token = 2
dtype = "bfloat16"
max_kv_bytes_per_token = 131072
context = 32768
max_active_params = "13B"
fits = { gpu = "H100", batch = 8, context = 32768 }
""",
    )
    spec = config.spec
    assert spec is not None
    assert spec.max_active_params == 13_000_000_000
    assert spec.fits is not None and (spec.fits.gpu, spec.fits.batch, spec.fits.context) == (
        "H100",
        8,
        32768,
    )
    assert spec.max_kv_bytes_per_token == 131072
