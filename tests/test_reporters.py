"""Report formats behind one interface: one document, renderers by name, plugins by entry
point, and repo text escaped once on its way in (issue 13, defect 3)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from archlint.report import reporters
from archlint.report.document import Report, build_document
from archlint.report.explain import explain
from tests.helpers import ROOT, analysis

HOSTILE = {
    # a newline that would start a workflow command, an OSC 8 hyperlink, rich markup
    "model_type": "llama\n::error file=x::pwned",
    "hidden_act": "silu\x1b]8;;http://evil.example\x07click\x1b]8;;\x07[link=http://x]y[/link]",
    "rope_scaling": {"rope_type": "linear\n::warning::scaled[bold]", "factor": 2.0},
    "architectures": ["LlamaForCausalLM\r\n::set-env name=X::1"],
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 128,
    "max_position_embeddings": 256,
}


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archlint", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "NO_COLOR": "", **(env or {})},
                          timeout=120)


def test_builtin_formats_are_the_registry():
    assert reporters.names()[:7] == ("text", "concise", "json", "markdown", "sarif", "github",
                                     "junit")
    from archlint.report.format_choice import FormatChoice

    assert FormatChoice().choices == reporters.names()  # what --format offers
    with pytest.raises(Exception, match="unknown format"):
        reporters.get("yaml")


def test_one_document_every_format():
    a = analysis("meta-llama/Meta-Llama-3-8B")
    doc = build_document(a, explain(a.spec, a.profile))
    assert isinstance(doc, Report)
    ctx = reporters.RenderContext()
    as_json = json.loads(reporters.render("json", doc, ctx))
    # The text and Markdown describe the model with the document's own words.
    text = reporters.render("text", doc, ctx)
    markdown = reporters.render("markdown", doc, ctx)
    attention = as_json["summary"]["attention"]
    assert attention == "GQA · 32 query / 8 KV heads · head_dim 128"  # Llama-3-8B's config
    assert attention in text
    assert attention.replace("_", "\\_") in markdown


def _hostile_model(tmp_path: Path) -> Path:
    model = tmp_path / "hostile"
    model.mkdir()
    (model / "config.json").write_text(json.dumps(HOSTILE))
    return model


@pytest.mark.parametrize("fmt", ["text", "markdown", "json", "sarif", "junit", "github"])
def test_repo_text_never_starts_a_command_or_reaches_the_terminal(tmp_path, fmt):
    model = _hostile_model(tmp_path)
    proc = _run(["check", str(model), "--format", fmt, "--fail-on", "never", "--color"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    lines = [line for line in out.splitlines() if line.strip()]
    if fmt == "github":
        assert all(re.match(r"::(error|warning|notice) ", line) for line in lines)
    else:
        assert not [line for line in lines if line.lstrip().startswith("::")]
    assert "\x1b]" not in out and "\x07" not in out and "\r" not in out
    if fmt == "text":
        # styles are ANSI (--color), but repo markup stays literal text
        assert "[link=http://x]y[/link]" in out
        assert "\x1b]8;" not in out


def test_plugin_reporter_by_entry_point(tmp_path):
    site = tmp_path / "site"
    dist = site / "shout_reporter-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shout-reporter\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[archlint.reporters]\nshout = shout_reporter:render\n")
    (site / "shout_reporter.py").write_text(
        "def render(doc, context):\n"
        "    return '::error::' + doc.model.id.upper() + ' ' + str(len(doc.findings)) + '\\n'\n")
    env = {"PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    help_text = _run(["report", "--help"], tmp_path, env).stdout
    assert "shout" in help_text
    proc = _run(["llama3", "--catalog", "--format", "shout", "--fail-on", "never"], tmp_path, env)
    assert proc.returncode == 0, proc.stderr
    # the plugin's output is guarded like every format but github's
    assert proc.stdout == "\\::error::META-LLAMA/META-LLAMA-3-8B 0\n"
