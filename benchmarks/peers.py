"""Peers: archlint beside `accelerate estimate-memory` and `hf-mem`, on the same local test Hub.

The peers live in their own venv (.venv-peers: `python -m venv .venv-peers &&
.venv-peers/bin/pip install accelerate transformers hf-mem torch`, torch from the CPU index),
never in archlint's. How each is pointed at the test Hub:

- accelerate estimate-memory: `HF_ENDPOINT` (it asks huggingface_hub's `model_info`, then
  transformers' `AutoConfig.from_pretrained`, then builds the model on the meta device). It
  needs the `config` summary the real Hub puts in the model info: benchmarks/hubproc.py adds it.
- hf-mem: hard-codes `https://huggingface.co` and ignores HF_ENDPOINT; benchmarks/_hfmem_shim.py
  rewrites its URLs to the test Hub. It reads the file tree (`/api/models/{id}/tree/{rev}`,
  added by hubproc.py), then safetensors headers, so config-only repos cannot be sized by it.

Each tool runs as a fresh process, cold (no archlint cache); wall time includes interpreter start
and imports (torch + transformers for accelerate).

    .venv/bin/python benchmarks/peers.py [--runs 3] [--context 8192] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import (
    PYTHON,
    REPO,
    emit,
    isolated_env,
    machine_line,
    md_table,
    median,
    run_measured,
)
from hubproc import HubProcess

PEERS_BIN = REPO / ".venv-peers" / "bin"
MODELS = [  # served id, shards (None: config only, as the fixture is)
    ("openai/gpt-oss-20b", 3),
    ("deepseek-ai/DeepSeek-V2-Lite", 4),
    ("mistralai/Mixtral-8x7B-v0.1", None),
    ("meta-llama/Llama-3.1-8B-Instruct", None),
]

ARCHLINT_SNIPPET = """
import json, sys
from archlint.analysis.profile import Options
from archlint.api import analyze
from archlint.source import SourceOptions
a = analyze(sys.argv[1], Options(context=int(sys.argv[3])),
            SourceOptions(endpoint=sys.argv[2], token=False, prefer="hub"))
p = a.profile
print(json.dumps({"params": p.params.total, "active": p.params.active,
                  "weights": p.weights.bytes, "weights_method": p.weights.method,
                  "kv_per_token": p.kv.bytes_per_token, "kv_at_context": p.kv.bytes_at_context,
                  "requests": a.checkpoint.fetch_stats.get("requests")}))
"""


def run_archlint(model: str, endpoint: str, context: int, cache: Path) -> tuple[float, Any]:
    code, wall, _, out, err = run_measured(
        [PYTHON, "-c", ARCHLINT_SNIPPET, model, endpoint, str(context)],
        env=isolated_env(cache, endpoint))
    return wall, json.loads(out) if code == 0 else f"failed: {err.strip().splitlines()[-1:]}"


def run_hfmem(model: str, endpoint: str, context: int) -> tuple[float, Any]:
    env = isolated_env(Path(tempfile.gettempdir()), endpoint)
    env["HFMEM_ENDPOINT"] = endpoint
    code, wall, _, out, err = run_measured(
        [str(PEERS_BIN / "python"), str(REPO / "benchmarks" / "_hfmem_shim.py"),
         "--model-id", model, "--json-output", "--experimental", "--kv-cache-dtype", "bfloat16",
         "--max-model-len", str(context), "--batch-size", "1"], env=env)
    if code != 0:
        last = [line for line in err.strip().splitlines() if line.strip()][-1:]
        return wall, f"failed: {last[0][:160] if last else code}"
    return wall, json.loads(out.strip().splitlines()[-1])


def run_accelerate(model: str, endpoint: str) -> tuple[float, Any]:
    env = isolated_env(Path(tempfile.gettempdir()), endpoint)
    with tempfile.TemporaryDirectory() as hf_home:
        env["HF_HOME"] = hf_home  # a cold transformers/huggingface_hub cache
        code, wall, _, out, err = run_measured(
            [str(PEERS_BIN / "accelerate"), "estimate-memory", model,
             "--library_name", "transformers", "--dtypes", "float16"], env=env)
    if code != 0:
        last = [line for line in err.strip().splitlines() if line.strip()][-1:]
        return wall, f"failed: {last[0][:160] if last else code}"
    for line in out.splitlines():  # │float16│  2.7 GB │ 86.75 GB │ 346.99 GB │
        cells = [c.strip() for c in line.strip().strip("│|").split("│")]
        if cells and cells[0] == "float16" and len(cells) >= 3:
            return wall, {"total": cells[2], "largest": cells[1]}
    return wall, f"unparsed: {out[-200:]}"


def gib(n: int | float | None) -> str:
    return "not given" if n is None else f"{n / 2**30:.2f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--context", type=int, default=8192)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--out")
    args = parser.parse_args()

    peers_ok = (PEERS_BIN / "python").exists()
    repos = [{"id": m, "fixture": m, "shards": s or 1} for m, s in MODELS]
    rows, time_rows = [], []
    with HubProcess(latency_s=args.latency, repos=repos) as hub, \
            tempfile.TemporaryDirectory() as tmp:
        for model, shards in MODELS:
            times: dict[str, list[float]] = {"archlint": [], "hf-mem": [], "accelerate": []}
            results: dict[str, Any] = {}
            for run in range(args.runs):
                wall, results["archlint"] = run_archlint(model, hub.endpoint, args.context,
                                                         Path(tmp) / f"cache-{run}-{os.getpid()}"
                                                         / model.replace("/", "_"))
                times["archlint"].append(wall)
                if peers_ok and shards is not None:
                    wall, results["hf-mem"] = run_hfmem(model, hub.endpoint, args.context)
                    times["hf-mem"].append(wall)
                if peers_ok and run == 0:  # torch import: one run is enough to see the cost
                    wall, results["accelerate"] = run_accelerate(model, hub.endpoint)
                    times["accelerate"].append(wall)
            print(json.dumps({"model": model, "results": results, "times": times}),
                  file=sys.stderr, flush=True)
            a = results["archlint"]
            h = results.get("hf-mem", "cannot: config-only repo (hf-mem sizes safetensors only)")
            acc = results.get("accelerate", "not installed")
            arch = (f"{a['params'] / 1e9:.2f} B params ({a['active'] / 1e9:.2f} B active); "
                    f"weights {gib(a['weights'])} ({a['weights_method']}); KV "
                    f"{a['kv_per_token']:,} B/token, {gib(a['kv_at_context'])} at {args.context}"
                    if isinstance(a, dict) else a)
            hm = (f"weights {gib(h['memory'])}; KV {gib(h['kv_cache'])} at {args.context}"
                  if isinstance(h, dict) else h)
            ac = (f"fp16 total {acc['total']} (largest layer {acc['largest']})"
                  if isinstance(acc, dict) else acc)
            rows.append([model, arch, hm, ac])
            time_rows.append([model, *(f"{median(v):.2f} s" if v else "—"
                                       for v in times.values())])
    section = f"""## Peers: accelerate estimate-memory and hf-mem

{machine_line()}

Command: `.venv/bin/python benchmarks/peers.py --runs {args.runs} --context {args.context}`
(peers installed in `.venv-peers`). The local test Hub serves each model
({args.latency * 1000:.0f} ms added latency); gpt-oss-20b in 3 shards and DeepSeek-V2-Lite in
4, with real safetensors headers; Mixtral and Llama-3.1 are config-only fixtures. hf-mem is run
with `--experimental --kv-cache-dtype bfloat16 --max-model-len {args.context} --batch-size 1`;
accelerate with `--library_name transformers --dtypes float16`; archlint with context
{args.context}, batch 1 (the library API in a fresh process: the same path as `archlint MODEL`).

{md_table(["model", "archlint", "hf-mem", "accelerate estimate-memory"], rows)}

Wall time per invocation (fresh process, cold caches; median of {args.runs} for archlint and
hf-mem, one run of accelerate):

{md_table(["model", "archlint", "hf-mem", "accelerate"], time_rows)}
"""
    emit(section, args.out)


if __name__ == "__main__":
    main()
