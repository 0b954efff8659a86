"""CPU per tensor once the header bytes are in: header parsing, the analysis (tensor index,
parameter count, memory, compute) and the lint rules, for the big tensor tables.

Measured in this process with `time.process_time` (CPU, not wall), best of `--runs`, each on a
fresh copy of the table (so the per-checkpoint tensor index is built every time). The header
bytes are those the stand-in Hub serves (`hubserver.model_files`), decoded by the same parser
the fetch uses (`safetensors_header.parse_header`), with the cyclic GC paused as the fetch
pauses it; the analysis gets a fresh tensor table over the same columns, as a fetch hands one
over (no row objects made yet).

    .venv/bin/python benchmarks/per_tensor.py [--runs 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import copy
import time
from typing import Any

from _common import KIMI_K2, emit, load_fixture, machine_line, md_table

MODELS = [("openai/gpt-oss-20b", 3), ("deepseek-ai/DeepSeek-V2-Lite", 4),
          ("Qwen/Qwen3-Next-80B-A3B-Instruct", 41), ("deepseek-ai/DeepSeek-R1", 163),
          (KIMI_K2, 61)]


def best(fn: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out")
    args = parser.parse_args()

    from hubserver import model_files

    from archlint.api import analyze_checkpoint
    from archlint.checkpoint import TensorTable
    from archlint.lint.engine import run_rules
    from archlint.lint.registry import load_rules
    from archlint.source import safetensors_header as st
    from archlint.source.cache import paused_gc

    rules = load_rules(plugins=False)
    rows = []
    for model, shards in MODELS:
        ckpt = load_fixture(model)
        ckpt.tensors = TensorTable.of(ckpt.tensors or ())  # the stand-in is built as rows
        n = len(ckpt.tensors)
        heads = [vf.head for name, vf in model_files(ckpt, shards=shards).items()
                 if name.endswith(".safetensors")]

        def parse(heads: list[bytes] = heads) -> None:
            with paused_gc():  # as the fetch parses (hub.fetch_checkpoint)
                for head in heads:
                    size = int.from_bytes(head[:8], "little")
                    st.parse_header(head[8:8 + size], file_name="x.safetensors")

        def analyse(ckpt: Any = ckpt) -> None:
            fresh = copy.copy(ckpt)
            fresh.__dict__.pop("_tensor_index", None)
            # a new table over the same columns, with no rows made yet: what a fetch hands over
            fresh.tensors = ckpt.tensors.copy()
            analysis = analyze_checkpoint(fresh)
            run_rules(analysis, rules=rules)

        parse_s, analyse_s = best(parse, args.runs), best(analyse, args.runs)
        rows.append([model, f"{n:,}", f"{parse_s * 1e6 / n:.2f} µs",
                     f"{analyse_s * 1e6 / n:.2f} µs",
                     f"{(parse_s + analyse_s) * 1e6 / n:.2f} µs",
                     f"{(parse_s + analyse_s) * 1000:.0f} ms"])
    section = f"""## CPU per tensor after the header bytes are in

{machine_line()}

Command: `.venv/bin/python benchmarks/per_tensor.py --runs {args.runs}`. CPU time in one
process (best of {args.runs}): *parse* decodes and checks every shard's header bytes (with
the cyclic GC paused, as the fetch parses them);
*analysis + lint* builds the tensor index, the spec, the profile and runs every built-in rule
on a fresh copy of the table. Target (issue 16): analysis ≤ 2 µs per tensor.

{md_table(["model", "tensors", "parse / tensor", "analysis + lint / tensor", "both / tensor",
           "both"], rows)}
"""
    emit(section, args.out)


if __name__ == "__main__":
    main()
