"""Run every benchmark and write its section into BENCHMARKS.md.

Each script's section goes between `<!-- section:NAME -->` and `<!-- /section:NAME -->`;
everything outside those markers (the hand-written reading of the numbers) is kept as it is.
A section not yet in the file is appended.

    .venv/bin/python benchmarks/run_all.py                     # all, in order
    .venv/bin/python benchmarks/run_all.py --only cold_start   # one (others kept)
    .venv/bin/python benchmarks/run_all.py --quick             # fewer runs, smaller scans

Run it on an otherwise idle machine: every number here is wall time on shared cores.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import PYTHON, REPO

BENCH = REPO / "benchmarks"
TARGET = REPO / "BENCHMARKS.md"
SCRIPTS: dict[str, tuple[list[str], list[str]]] = {  # name: (full args, --quick args)
    "cold_start": (["--runs", "30"], ["--runs", "10"]),
    "round_trips": (["--runs", "5"], ["--runs", "2", "--workers", "16"]),
    "scan_scale": (["--concurrency", "32", "--jobs", "1", "2", "--ray-workers", "1", "2",
                    "--cache-sizes", "1000"],
                   ["--hub-models", "200", "--concurrency", "16", "--cache-sizes", "100", "1000"]),
    "peers": (["--runs", "3"], ["--runs", "1"]),
    "side_by_side": (["--runs", "3"], ["--runs", "1", "--no-accelerate"]),
    "gguf_report": (["--runs", "5"], ["--runs", "2"]),
    "gguf_header": (["--runs", "15"], ["--runs", "5"]),
    "per_tensor": (["--runs", "3"], ["--runs", "1"]),
    "before_after": (["--runs", "5"], ["--runs", "2", "--latencies", "0.1"]),
}
HEADER = """# Benchmarks

Numbers measured by the scripts in `benchmarks/` (`.venv/bin/python benchmarks/run_all.py`
regenerates every section; each section names its command, machine and date). Nothing here is a
unit test: timings are not asserted anywhere.
"""


def put_section(text: str, name: str, body: str) -> str:
    """`text` with section `name` replaced by `body` (in place; a new one goes before the next
    section that follows it in SCRIPTS' order, else at the end)."""
    start, end = f"<!-- section:{name} -->", f"<!-- /section:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    names = list(SCRIPTS)
    for later in names[names.index(name) + 1:] if name in names else []:
        marker = f"<!-- section:{later} -->"
        if marker in text:
            return text.replace(marker, block + "\n\n" + marker, 1)
    return text.rstrip() + "\n\n" + block + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(SCRIPTS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--target", type=Path, default=TARGET, help="default: BENCHMARKS.md")
    args = parser.parse_args()

    target: Path = args.target
    text = target.read_text(encoding="utf-8") if target.exists() else HEADER
    for name in args.only or list(SCRIPTS):
        full, quick = SCRIPTS[name]
        with tempfile.NamedTemporaryFile(suffix=".md", delete=False) as fh:
            out = Path(fh.name)
        cmd = [PYTHON, str(BENCH / f"{name}.py"), *(quick if args.quick else full),
               "--out", str(out)]
        print(f"running {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, cwd=REPO)
        if proc.returncode != 0 or not out.read_text().strip():
            print(f"{name}: failed (exit {proc.returncode}); its section is left as it was",
                  file=sys.stderr)
            continue
        text = put_section(text, name, out.read_text(encoding="utf-8"))
        out.unlink(missing_ok=True)
        target.write_text(text, encoding="utf-8")  # after each: a later failure loses nothing
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
