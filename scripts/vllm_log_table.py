"""Regenerate the log-comparison table in docs/serving.md: every recorded vLLM run
(fixtures/vllm_logs/runs.json) predicted by archlint with the run's settings, next to what vLLM
logged, with the error. Rows that cannot be matched say why.

    .venv/bin/python scripts/vllm_log_table.py        # rewrites the table between the markers
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "serving.md"
BEGIN, END = "<!-- vllm-log-table:begin -->", "<!-- vllm-log-table:end -->"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:+.1%}"


def _num(x: float | None, fmt: str = "{:.2f}") -> str:
    return "—" if x is None else fmt.format(x)


def render() -> str:
    sys.path.insert(0, str(ROOT))
    from archlint.analysis.logcheck import check_run
    from archlint.api import spec_of
    from archlint.checkpoint import Checkpoint

    runs = json.loads((ROOT / "fixtures" / "vllm_logs" / "runs.json").read_text())["runs"]
    rows = [
        "| run | GPU × TP | vLLM | weights GiB (archlint / log, error) | activation GiB "
        "(archlint / log, error) | KV GiB (archlint / log, error) | KV tokens (archlint / log, "
        "error) | KV one request needs, GiB (archlint / log, error) | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        path = ROOT / "fixtures" / "models" / (run["model"].replace("/", "__", 1) + ".json.gz")
        ckpt = Checkpoint.load(path)
        c = check_run(run, ckpt, spec_of(ckpt))
        rows.append(
            f"| [{c.id}]({run['source'].split(' ')[0]}) | {c.gpu} × {c.tp} | {c.vllm_version} "
            f"| {_num(c.weights_gib)} / {_num(c.weights_logged_gib, '{:.4f}')}, "
            f"{_pct(c.weights_error)} "
            f"| {_num(c.activation_gib)} / {_num(c.activation_logged_gib)}, "
            f"{_pct(c.activation_error)} "
            f"| {_num(c.kv_gib)} / {_num(c.kv_logged_gib)}, {_pct(c.kv_gib_error)} "
            f"| {_num(c.kv_tokens, '{:,}')} / {_num(c.kv_tokens_logged, '{:,}')}, "
            f"{_pct(c.kv_tokens_error)} "
            f"| {_num(c.request_kv_gib)} / {_num(c.request_kv_logged_gib)}, "
            f"{_pct(c.request_kv_error)} "
            f"| {'; '.join(x for x in (c.unmatched, c.note) if x)} |"
        )
    return "\n".join([BEGIN, *rows, END])


def main() -> None:
    text = DOC.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + render() + text[end:])
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
