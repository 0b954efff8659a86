"""Family packs register through the `archlint.families` entry-point group: an installed
example pack (a real distribution on sys.path, found by importlib.metadata) describes a custom
architecture, and archlint reads it without running any code from the model repo."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from archlint import families
from archlint.analysis.params import count_from_spec
from archlint.families import build_spec, registry

HERE = Path(__file__).parent

CONFIG = {
    "model_type": "acme_hybrid",
    "architectures": ["AcmeHybridForCausalLM"],
    "auto_map": {"AutoModelForCausalLM": "modeling_acme.AcmeHybridForCausalLM"},
    "hidden_size": 64,
    "num_hidden_layers": 6,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 100,
    "ffn_width": 128,
    "scan_width": 96,
    "scan_state": 8,
    "attn_every": 3,
}


def _install(tmp_path: Path, name: str, module: str) -> None:
    """Write a .dist-info for `module` with an archlint.families entry point."""
    dist = tmp_path / f"{name}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[archlint.families]\n{name} = {module}\n")


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The example pack installed, and archlint's registry loaded with plugins on."""
    _install(tmp_path, "acme-family", "acme_family")
    monkeypatch.syspath_prepend(str(HERE / "plugins"))
    monkeypatch.syspath_prepend(str(tmp_path))
    by_type = registry.load(plugins=True)
    monkeypatch.setattr(families, "adapters_by_type", lambda: by_type)
    yield
    registry.load(plugins=False)  # restore the built-in mixers


def test_builtins_are_a_pack_like_any_other() -> None:
    by_type = registry.load(plugins=False)
    assert by_type["llama"].__name__ == "Llama" and by_type["mamba"].__name__ == "Mamba"


def test_an_installed_pack_describes_its_architecture(installed: None) -> None:
    spec = build_spec(dict(CONFIG))
    assert spec.family == "acme_hybrid" and spec.known_family
    kinds = [layer.attention.kind for layer in spec.layers]
    assert kinds == ["linear", "linear", "gqa", "linear", "linear", "gqa"]
    # by hand: embedding 100·64 + head 100·64 = 12,800; scan layer 64·192 + 96·8 + 96·64 =
    # 19,200; attention layer q 64·64 + k,v 2·(64·32) + o 64·64 = 12,288; SwiGLU 3·64·128 =
    # 24,576 per layer; norms 2·64 per layer + final 64
    expected = 12_800 + 4 * 19_200 + 2 * 12_288 + 6 * 24_576 + 6 * 128 + 64
    assert count_from_spec(spec).total == expected
    assert spec.coverage.complete


def test_without_the_pack_the_type_is_honestly_unknown() -> None:
    spec = build_spec(dict(CONFIG))
    assert spec.family == "generic" and not spec.known_family


def test_a_pack_claiming_a_builtin_type_is_an_error(tmp_path: Path) -> None:
    pkg = tmp_path / "dup_family"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from archlint.families.dialects import Llama\n"
        "class Mine(Llama):\n    model_types = ('llama',)\n"
        "ADAPTERS = (Mine,)\n"
    )
    _install(tmp_path, "dup-family", "dup_family")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(registry.FamilyPluginError, match="'llama' is registered twice"):
            registry.load(plugins=True)
    finally:
        sys.path.remove(str(tmp_path))
        registry.load(plugins=False)


def test_a_broken_pack_is_reported_and_skipped(tmp_path: Path) -> None:
    _install(tmp_path, "broken-family", "no_such_module_here")
    sys.path.insert(0, str(tmp_path))
    try:
        by_type = registry.load(plugins=True)
        assert "llama" in by_type
        assert any("broken-family" in w for w in registry.LOAD_WARNINGS)
    finally:
        sys.path.remove(str(tmp_path))
        registry.load(plugins=False)
