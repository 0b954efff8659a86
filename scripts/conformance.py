"""Conformance of archlint's config-only figures against transformers' own modules.

    python scripts/conformance.py            # run, print the summary
    python scripts/conformance.py --write    # also rewrite CONFORMANCE.md and
                                             # tests/conformance/expected.json
    python scripts/conformance.py --only llama mamba   # a few types (never --write)
    python scripts/conformance.py --config a/config.json fixtures/zoo/x.json.gz
                                             # held-out configs: each one checked as its
                                             # model_type's config (never --write)

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


def _load_config(path: Path) -> dict:
    """A plain config.json, or the config inside a Checkpoint fixture (`*.json.gz`)."""
    import gzip

    raw = path.read_bytes()
    data = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    if isinstance(data, dict) and isinstance(data.get("config"), dict) and "model_id" in data:
        data = data["config"]
    if not isinstance(data, dict) or not isinstance(data.get("model_type"), str):
        raise ValueError("no model_type")
    return data


def _check_configs(paths: list[Path]) -> int:
    """One row per config, checked as the conformance run checks its type's config."""
    run._init_worker()
    bad = 0
    for path in paths:
        try:
            config = _load_config(path)
        except (OSError, ValueError) as exc:
            print(f"conformance: {path}: not a config ({exc})", file=sys.stderr)
            return 2
        row = run.check(config["model_type"], [(path.name, config)])
        bad += row.verdict != "exact"
        tf = f"{row.tf_total:,}" if row.tf_total is not None else "-"
        al = f"{row.al_total:,}" if row.al_total is not None else "-"
        print(f"{path.name:50} {row.model_type:22} {row.verdict:26} params {al} / {tf}"
              f"  kv {row.al_kv} / {row.tf_kv}  {row.detail}")
    return 1 if bad else 0


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
    parser.add_argument("--switches", action="store_true",
                        help="run on configs with their structural booleans flipped "
                        "(tests/conformance/vary.py: switched; never --write)")
    parser.add_argument("--switches-each", action="store_true",
                        help="as --switches, one boolean flipped at a time: one row per "
                        "flag, its source naming it (never --write)")
    parser.add_argument("--config", nargs="+", type=Path, metavar="PATH",
                        help="check these configs (a config.json, or a Checkpoint .json.gz)")
    args = parser.parse_args(argv)
    if args.config:
        return _check_configs(args.config)
    if args.write and (args.only or args.vary or args.switches or args.switches_each):
        print("conformance: --write needs the plain full run (drop --only/--vary/--switches*)",
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
        rows, out = run.run_all(
            workers=args.workers, only=args.only, varied=args.vary, switched=args.switches,
            switched_each=args.switches_each,
        )
        seconds = time.monotonic() - started
        cpu = _cpu_seconds()
    stats = summary(rows)
    audit = args.vary or args.switches or args.switches_each
    listed = rows if args.only else [r for r in rows if r.verdict != "exact"] if audit else []
    for (model_type, key), why in sorted(run.HELD.items()):
        print(f"{model_type:28} {'held by transformers':26} {key}: {why}")
    for row in listed:
        flag = f" [{row.source}]" if args.switches_each else ""
        print(f"{row.model_type:28} {row.verdict:26} {row.detail}{flag}")
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
