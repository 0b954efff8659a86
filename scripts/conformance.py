"""Conformance of archlint's config-only figures against transformers' own modules.

    python scripts/conformance.py            # run, print the summary
    python scripts/conformance.py --write    # also rewrite CONFORMANCE.md and
                                             # tests/conformance/expected.json
    python scripts/conformance.py --only llama mamba   # a few types (never --write)

The harness lives in tests/conformance/ (run.py: the loop and verdicts; tf_side.py: what
transformers says; archlint_side.py: what archlint says; shrink.py: how the cache run keeps
the layer pattern). `tests/conformance/test_conformance.py` runs it in CI as a ratchet
against expected.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conformance import run  # noqa: E402
from tests.conformance.report import expectations, markdown, summary  # noqa: E402

MD = ROOT / "CONFORMANCE.md"
EXPECTED = ROOT / "tests" / "conformance" / "expected.json"


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its (finished) workers: the figure that
    says what the run costs on an idle machine, whatever else shares this one."""
    import resource

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite CONFORMANCE.md + expected")
    parser.add_argument("--only", nargs="*", help="only these model types")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--json", type=Path, help="also dump every row as JSON here")
    parser.add_argument("--from-json", type=Path, help="write from a --json dump, no run")
    parser.add_argument("--vary", action="store_true",
                        help="run on configs at other sizes (tests/conformance/vary.py); "
                        "lists every type that is not exact there (never --write)")
    args = parser.parse_args(argv)
    if args.write and (args.only or args.vary):
        print("conformance: --write needs the plain full run (drop --only/--vary)",
              file=sys.stderr)
        return 2
    if args.from_json:
        # Rewrite the files from a saved run (same code, e.g. after a report-format change).
        saved = json.loads(args.from_json.read_text())
        rows = [run.Row(**r) for r in saved["rows"]]
        seconds, cpu = saved["seconds"], saved["cpu"]
        out = run.plan()[1]
    else:
        started = time.monotonic()
        rows, out = run.run_all(workers=args.workers, only=args.only, varied=args.vary)
        seconds = time.monotonic() - started
        cpu = _cpu_seconds()
    stats = summary(rows)
    listed = rows if args.only else [r for r in rows if r.verdict != "exact"] if args.vary else []
    for row in listed:
        print(f"{row.model_type:28} {row.verdict:26} {row.detail}")
    print(
        f"{len(rows)} model types in {seconds:.0f} s wall, {cpu:.0f} s CPU: "
        + ", ".join(f"{k} {v}" for k, v in Counter(r.verdict for r in rows).most_common())
    )
    print(
        f"decoder-only exact {stats['decoder_exact']}/{stats['decoder_buildable']} "
        f"({stats['decoder_rate']:.1f}%), whole scope exact {stats['scope_exact']}/"
        f"{stats['scope_buildable']} ({stats['scope_rate']:.1f}%)"
    )
    if args.json:
        saved = {"seconds": seconds, "cpu": cpu, "rows": run.rows_to_json(rows)}
        args.json.write_text(json.dumps(saved, indent=1))
    if args.write:
        MD.write_text(markdown(rows, out, seconds, cpu))
        EXPECTED.write_text(json.dumps(expectations(rows), indent=1, sort_keys=True) + "\n")
        print(f"wrote {MD.relative_to(ROOT)} and {EXPECTED.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
