"""archlint.entry_scan: importlib.metadata is asked for plugin entry points only when an
installed distribution declares one besides archlint's built-in packs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from archlint import entry_scan


def _dist(root: Path, name: str, text: str) -> None:
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(text)


def test_only_the_builtin_entry_asks_nothing(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _dist(tmp_path, "ours", "[archlint.rules]\nbuiltin = archlint.rules\n\n"
                            "[console_scripts]\narchlint = archlint.cli:main\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert not entry_scan.maybe_declared("archlint.rules", "archlint.rules")
    assert entry_scan.entry_points("archlint.rules", "archlint.rules") == []


def test_a_plugin_distribution_is_found_through_importlib_metadata(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _dist(tmp_path, "ours", "[archlint.rules]\nbuiltin = archlint.rules\n")
    _dist(tmp_path, "xpack", "[archlint.rules]\nx = xpack.rules\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert entry_scan.maybe_declared("archlint.rules", "archlint.rules")
    assert not entry_scan.maybe_declared("archlint.families", "archlint.families.builtin")
    found = entry_scan.entry_points("archlint.rules", "archlint.rules")
    assert sorted(ep.value for ep in found) == ["archlint.rules", "xpack.rules"]


def test_a_zip_on_the_path_is_left_to_importlib_metadata(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "plugins.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip archive
    monkeypatch.setattr(sys, "path", [str(archive)])
    assert entry_scan.maybe_declared("archlint.rules", "archlint.rules")
