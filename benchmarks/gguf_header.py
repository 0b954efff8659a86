"""The GGUF header reader against an earlier revision of itself, in the same process.

The baseline is `archlint/source/gguf_header.py` as it was at `--baseline` (a git revision),
loaded as a module of its own; both parse the same headers in turn (interleaved, `--runs`
times each, median), so the ratio holds under whatever load the machine has. Headers: the
fixtures rebuilt from public llama.cpp load logs (fixtures/gguf: Qwen3-30B-A3B with its
151,936-token vocabulary, LLaVA's Llama-2 with 32,000), the hybrid headers (no vocabulary;
tensor infos only), and a BPE header with its merges as llama.cpp's converter writes them
(150,000 tokens, types and merges: what most current models carry). Also, per reader, the
ranged reads a Hub fetch of each header takes from its first read size on (requests, bytes).

    .venv/bin/python benchmarks/gguf_header.py [--baseline REV] [--runs 15] [--out FILE]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from _common import REPO, emit, human_bytes, machine_line, md_table, median

sys.path.insert(0, str(REPO))


def baseline_module(rev: str) -> ModuleType:
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:archlint/source/"
                             "gguf_header.py"], check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "gguf_header_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("gguf_header_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def headers() -> list[tuple[str, bytes, int]]:
    """(label, header bytes, file size)."""
    out = []
    sources = json.loads((REPO / "fixtures" / "gguf" / "SOURCES.json").read_text())
    for name, meta in sources.items():
        head = gzip.decompress((REPO / "fixtures" / "gguf" / f"{name}.gguf.gz").read_bytes())
        out.append((name, head, meta["file_size"]))
    hybrids = json.loads((REPO / "fixtures" / "gguf" / "hybrids" / "expected.json").read_text())
    for name in ("Qwen3-Next-80B-A3B-Instruct", "granite-4.0-h-tiny"):
        head = gzip.decompress((REPO / "fixtures" / "gguf" / "hybrids" / f"{name}.gguf.gz")
                               .read_bytes())
        out.append((f"{name} (no vocabulary)", head, hybrids[name]["file_size"]))
    out.append(bpe_header())
    return out


def bpe_header() -> tuple[str, bytes, int]:
    from gguf import GGMLQuantizationType as Q
    from gguf import GGUFValueType as V

    from tests.gguf_files import llama_tensors, write_gguf

    n = 150_000
    kv = {"tokenizer.ggml.model": ("gpt2", V.STRING),
          "tokenizer.ggml.tokens": ([f"Ġtok{i:06d}" for i in range(n)], V.ARRAY, V.STRING),
          "tokenizer.ggml.token_type": ([1] * n, V.ARRAY, V.INT32),
          "tokenizer.ggml.merges": ([f"Ġtok{i:06d} tok{i + 1:06d}" for i in range(n)],
                                    V.ARRAY, V.STRING)}
    tensors = llama_tensors(layers=28, hidden=3584, heads=28, kv_heads=4, ffn=18944, vocab=n,
                            quant=Q.Q4_K)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bpe.gguf"
        size = write_gguf(path, "qwen2", kv, tensors)
        head = path.read_bytes()
    from archlint.source.gguf_header import parse_gguf

    offset = parse_gguf(head, file_name="bpe", file_size=size).data_offset
    return "BPE: 150k tokens + 150k merges, 28 layers", head[:offset], size


def fetch_plan(module: ModuleType, head: bytes, size: int) -> tuple[int, int]:
    """(ranged requests, bytes) to read `head` from a file of `size` with `module`'s first
    read size and estimates (gguf_hub's loop)."""
    want = min(module.FIRST_READ_BYTES, size)
    requests, moved = 0, 0
    have = b""
    for _ in range(8):
        requests += 1
        moved += want - len(have)
        have = head[:want] if want <= len(head) else head + bytes(want - len(head))
        try:
            module.parse_gguf(have, file_name="x", file_size=size)
            return requests, moved
        except module.NeedMoreBytes as more:
            want = min(max(more.estimate, more.needed, 2 * len(have)), size)
    return requests, moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--out")
    args = parser.parse_args()

    from archlint.source import gguf_header as current

    old = baseline_module(args.baseline)
    base_rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", args.baseline],
                              check=True, capture_output=True, text=True).stdout.strip()
    rows = []
    for label, head, size in headers():
        times: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(args.runs):
            for key, module in (("old", old), ("new", current)):
                started = time.perf_counter()
                module.parse_gguf(head, file_name="x", file_size=size)
                times[key].append(time.perf_counter() - started)
        t_old, t_new = median(times["old"]), median(times["new"])
        r_old, b_old = fetch_plan(old, head, size)
        r_new, b_new = fetch_plan(current, head, size)
        rows.append([label, human_bytes(len(head)), f"{t_old * 1000:.1f} ms",
                     f"{t_new * 1000:.1f} ms", f"{t_old / t_new:.2f}x",
                     f"{r_old} / {human_bytes(b_old)}", f"{r_new} / {human_bytes(b_new)}"])
    section = f"""## GGUF header reader: before and after (same process)

{machine_line()}

Command: `.venv/bin/python benchmarks/gguf_header.py --baseline {args.baseline} --runs {args.runs}`
(baseline `{args.baseline}` = {base_rev}). Both readers parse each header in memory in turn,
{args.runs} times, medians; *speed-up* = before / after. *Ranges* = ranged requests and bytes
a Hub fetch of the header takes (first read {human_bytes(old.FIRST_READ_BYTES)} before,
{human_bytes(current.FIRST_READ_BYTES)} after, then each reader's estimate).

{md_table(["header", "size", "before", "after", "speed-up", "ranges before",
           "ranges after"], rows)}
"""
    emit(section, args.out)


if __name__ == "__main__":
    main()
