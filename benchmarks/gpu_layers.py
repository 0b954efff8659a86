#!/usr/bin/env python3
"""The whole `archlint bench` results table in one run on a GPU machine.

    PYTHONUNBUFFERED=1 python benchmarks/gpu_layers.py --out DIR [--models mixtral,gpt-oss]

For each model (catalog names, offline): the layers are grouped by kind (attention kind,
window, chunk, FFN kind) and the first layer of each group is built at the model's real size
with `archlint.bench.layer.run_layer`: KV-cache bytes measured against the profile's
prediction; the Triton path checked against the PyTorch path in fp32 and bf16; prefill and
decode timed on both paths. The model figure extrapolates Σ_groups (layers in group × the
measured layer time): embedding and LM head are not included. The analytic roofline of the
whole model (archlint's Profile, fed the *measured* copy bandwidth and matmul peak) is printed
beside it: the measured extrapolation should stay under it.

Writes DIR/bench_models.json (everything, updated after each layer so a cut-off run keeps what
it measured) and DIR/bench_models.md (the tables). DIR defaults to $OUT, else ./out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (catalog name, batch, context, why): sizes that fit one H100 (80 GB) with the reference path
# alive beside the Triton path. Mistral at 8192 so that its 4096-token window binds and the
# cache is a ring buffer; DeepSeek-V3's MoE layer is ~22.5 GB of bf16 weights (256 experts).
MODELS: list[tuple[str, int, int, str]] = [
    ("deepseek-v3", 8, 4096, "MLA + MoE 256 top-8 + shared; 3 dense layers"),
    ("mixtral", 8, 4096, "GQA + MoE 8 experts top-2"),
    ("llama3.1", 8, 4096, "dense GQA, llama3 rope scaling"),
    ("gpt-oss", 8, 4096, "alternating window 128 / full, sinks, MoE 32 top-4"),
    ("mistral", 8, 8192, "sliding window 4096 in every layer (ring buffer binds at 8192)"),
    ("qwen3-next", 8, 4096, "Gated DeltaNet ×3 : gated attention ×1, MoE 512 top-10 + gated "
     "shared expert"),
    ("llama4", 2, 16384, "chunked attention 8192 ×3 : NoPE full ×1 (chunks bind at 16384), "
     "MoE 16 top-1 + shared"),
]

# Mixer kinds no catalog model carries yet, built at published dimensions on a catalog
# model's spec (base, batch, context, what, how): the layer is the spec's own kind, so the
# bench and the profile read the same fields a real adapter would fill.
ZOO: list[tuple[str, str, int, int, str]] = [
    ("mamba2", "fixtures/zoo/Molbap__code2.json.gz", 8, 4096, "Mamba-2: a Mamba-Codestral-7B "
     "conversion read by archlint's mamba2 adapter (d_model 4096, 128 heads of 64, d_state "
     "128, 8 groups, conv 4, chunk 256; no FFN)"),
    ("cross-attention", "llama3.1", 8, 4096, "cross-attention layer at Llama-3.2-11B-Vision's "
     "dims (32 heads, 8 KV, head 128, dense FFN 14336) over 4 image tiles = 6404 encoder "
     "tokens"),
    ("kv-shared", "llama3.1", 8, 4096, "Llama-3.1-8B layer 1 reading layer 0's K/V "
     "(CLA / Gemma-3n KV sharing: no k/v projections, no cache of its own)"),
]
ENCODER_TOKENS = {"cross-attention": 6404}


def zoo_analysis(name: str, base: Any) -> tuple[Any, int]:
    """(analysis-like object, layer index) of a ZOO entry built on `base`'s analysis."""
    from types import SimpleNamespace

    from archlint.analysis.profile import profile

    spec = base.spec
    layers = list(spec.layers)
    index = 0
    if name == "cross-attention":
        att = layers[0].attention.model_copy(update=dict(source="encoder", positional="none"))
        layers[0] = layers[0].model_copy(update=dict(attention=att))
    else:
        att = layers[1].attention.model_copy(update=dict(kv_shared_from=0))
        layers[1] = layers[1].model_copy(update=dict(attention=att))
        index = 1
    spec = spec.model_copy(update=dict(layers=layers, num_layers=len(layers)))
    prof = profile(spec, None, base_options(base))
    config = {"rms_norm_eps": 1e-5, "chunk_size": 256}
    ckpt = SimpleNamespace(config=config,
                           model_id=f"{name} (zoo, on {base.checkpoint.model_id})")
    return SimpleNamespace(spec=spec, profile=prof, checkpoint=ckpt), index


def base_options(base: Any) -> Any:
    from archlint.analysis.profile import Options

    kv = base.profile.kv
    return Options(context=kv.context, batch=kv.batch, kv_dtype=kv.dtype)


def layer_groups(spec: Any) -> list[tuple[int, int, str]]:
    """[(first layer index, layer count, description)] by (attention kind, window, chunk,
    sinks, FFN kind)."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for layer in spec.layers:
        a, f = layer.attention, layer.ffn
        variant = a.linear.variant if a.kind == "linear" and a.linear else None
        key = (variant or a.kind, a.window, a.chunk, a.sinks, a.source,
               a.kv_shared_from is not None, a.positional == "nope", f.kind)
        groups.setdefault(key, []).append(layer.index)
    out = []
    for (kind, window, chunk, sinks, source, shared, nope, ffn), idx in groups.items():
        desc = kind + (f" window {window}" if window else "") + (f" chunk {chunk}" if chunk else "")
        desc += (" sinks" if sinks else "") + (" cross" if source == "encoder" else "")
        desc += (" kv-shared" if shared else "") + (" nope" if nope else "") + f" / {ffn}"
        out.append((idx[0], len(idx), desc))
    return out


def analytic_bound(name: str, batch: int, context: int, peaks: dict[str, Any]) -> dict[str, Any]:
    """archlint's whole-model roofline with the measured ceilings (not the datasheet's)."""
    from archlint.analysis.hardware import GPU
    from archlint.analysis.profile import Options
    from archlint.api import analyze
    from archlint.source import SourceOptions

    gpu = GPU(name=f"{peaks['gpu']} (measured)", memory_bytes=peaks["memory_bytes"],
              bandwidth=peaks["copy_bytes_per_s"], bf16_flops=peaks["bf16_flops"],
              source="measured by archlint.bench.timing")
    a = analyze(name, Options(context=context, batch=batch, gpu=gpu), SourceOptions(offline=True))
    roof = a.profile.roofline
    assert roof is not None
    return {
        "decode_tokens_per_s": roof.decode_tokens_per_s,
        "decode_bound": roof.decode_bound,
        "prefill_seconds": roof.prefill_seconds,
        "prefill_tokens_per_s": batch * context / roof.prefill_seconds,
        "fits": roof.fits,
        "weights_bytes": a.profile.weights.bytes,
        "kv_bytes_at_context": a.profile.kv.bytes_at_context,
    }


def extrapolate(rows: list[dict[str, Any]], phase: str, path: str) -> float | None:
    """Model tokens/s from the layer groups: tokens / Σ count × median seconds."""
    total = 0.0
    tokens = None
    for r in rows:
        t = r.get("timing")
        if not isinstance(t, dict):
            return None
        entry = t[phase].get(path)
        if not isinstance(entry, dict) or "median_s" not in entry:
            return None
        total += r["group_layers"] * entry["median_s"]
        tokens = t[phase]["tokens"]
    return tokens / total if tokens and total else None


def probe_moe_form(peaks_gpu: str) -> dict[str, Any]:
    """Choose the fused MoE's GEMM form for this run by a same-run measurement: Mixtral's
    experts at 1,024 tokens (the mid count of issue 17) through the TMA-fed persistent GEMMs
    and through the pointer GEMMs, each checked against the per-expert loop in bf16 first.
    The TMA form stays on only if it is correct and not slower; the choice and both times
    are recorded with the table."""
    import torch

    from archlint.bench.kernelmods import kernel_module
    from archlint.bench.timing import time_fn

    moe, ref = kernel_module("moe"), kernel_module("reference")
    e, k, c, f, t = 8, 2, 4096, 14336, 1024
    w13 = torch.randn(e, 2 * f, c, device="cuda", dtype=torch.bfloat16).mul_(c**-0.5)
    w2 = torch.randn(e, c, f, device="cuda", dtype=torch.bfloat16).mul_(f**-0.5)
    sets = []
    for _ in range(3):
        x = torch.randn(t, c, device="cuda", dtype=torch.bfloat16)
        w, ids = moe.route_softmax_topk(torch.randn(t, e, device="cuda"), k)
        sets.append((x, w, ids))
    x, w, ids = sets[0]
    want = ref.moe_ref(x, w13, w2, w, ids).double()
    out: dict[str, Any] = {"gpu": peaks_gpu, "tokens": t}
    for form in ("tma", "pointer"):  # (the weights, 2.8 GB, are freed on return)
        try:
            def fn(x, w, ids, tma=form == "tma"):
                return moe.fused_moe(x, w13, w2, w, ids, use_tma=tma)

            err = float((fn(x, w, ids).double() - want).norm() / want.norm())
            ms = time_fn(fn, sets, warmup=1, min_runs=20, max_runs=20, budget_s=0.0).median_s
            out[form] = {"rel_err": err, "ms": ms * 1e3, "ok": err < 2e-2}
        except Exception as exc:  # a form the compiler or the chip refuses
            out[form] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    tma, ptr = out["tma"], out["pointer"]
    out["use_tma"] = bool(tma["ok"] and (not ptr["ok"] or tma["ms"] <= ptr["ms"]))
    moe.USE_TMA = out["use_tma"]
    return out


def moe_form_line(probe: dict[str, Any] | None) -> str:
    if not probe:
        return "MoE GEMMs: the kernels' default form (no probe)."

    def one(form: str) -> str:
        r = probe.get(form, {})
        if "ms" in r:
            return f"{form} {r['ms']:.3f} ms (err {r['rel_err']:.1e})"
        return f"{form} refused ({r.get('error', '?')[:60]})"
    return (f"MoE GEMMs: {'TMA-fed persistent' if probe.get('use_tma') else 'pointer'} "
            f"(probe at Mixtral {probe.get('tokens')} tokens: {one('tma')}, {one('pointer')}).")


def fmt_bytes(n: float) -> str:
    for unit, div in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= div:
            return f"{n / div:.2f} {unit}"
    return f"{n:.0f} B"


def fmt_rate(x: float | None) -> str:
    if x is None:
        return "—"
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.0f}"


def fmt_err(x: Any) -> str:
    return "—" if x is None else f"{x:.1e}"


def markdown(doc: dict[str, Any]) -> str:
    env, peaks = doc["environment"], doc.get("peaks", {})
    lines = [
        f"GPU: {env.get('gpu')} · driver {env.get('driver')} · torch {env.get('torch')} · "
        f"triton {env.get('triton')} · CUDA {env.get('cuda_runtime')} · {env.get('date_utc')}",
        "",
        f"Measured ceilings: copy {peaks.get('copy_bytes_per_s', 0) / 1e12:.2f} TB/s "
        f"(read + write), bf16 matmul 8192³ {peaks.get('bf16_flops', 0) / 1e12:.0f} TFLOP/s.",
        "",
        moe_form_line(doc.get("moe_form")),
        "",
        "### KV cache and correctness (Triton path vs PyTorch path, same weights)",
        "",
        "| model | layer (×count) | B × L | KV predicted | KV measured | err | fp32 prefill / "
        "decode rel. err | bf16 prefill / decode rel. err | routing agree (bf16) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in doc["models"]:
        for r in m["layers"]:
            if "error" in r and "kv" not in r:
                lines.append(f"| {m['name']} | {r['layer']} | error: {r['error'][:80]} |"
                             " | | | | | |")
                continue
            kv = r.get("kv", {})
            checks = {c["dtype"]: c for c in r.get("checks", [])}
            f32, b16 = checks.get("fp32", {}), checks.get(r["dtype"], {})
            lines.append(
                f"| {m['name']} | {r['layer']} {r['group']} (×{r['group_layers']}) | "
                f"{r['batch']} × {r['context']} | {fmt_bytes(kv.get('predicted_bytes', 0))} | "
                f"{fmt_bytes(kv.get('measured_bytes', 0))} | "
                f"{kv.get('relative_error', float('nan')):+.3%} | "
                f"{fmt_err(f32.get('prefill_rel_err'))} / {fmt_err(f32.get('decode_rel_err'))} | "
                f"{fmt_err(b16.get('prefill_rel_err'))} / {fmt_err(b16.get('decode_rel_err'))} | "
                + (f"{b16['routing_agreement']:.3f} |" if "routing_agreement" in b16 else "— |")
            )
    for phase in ("prefill", "decode"):
        lines += [
            "",
            f"### {phase.capitalize()} ("
            + ("B × L tokens, causal" if phase == "prefill"
               else "one token per sequence against L cached tokens")
            + ")",
            "",
            "| model | layer | Triton tok/s (layer) | PyTorch tok/s | speed-up | Triton TFLOP/s | "
            "Triton GB/s | roofline fraction | bound |"
            + (" Triton + CUDA graph tok/s | graph roofline fraction |" if phase == "decode"
               else ""),
            "|---|---|---|---|---|---|---|---|---|" + ("---|---|" if phase == "decode" else ""),
        ]
        for m in doc["models"]:
            for r in m["layers"]:
                t = r.get("timing")
                if not isinstance(t, dict):
                    lines.append(f"| {m['name']} | {r['layer']} | {t or r.get('error', '')} |"
                                 + " |" * (8 if phase == "decode" else 6))
                    continue
                p = t[phase]
                tri, ref = p.get("triton", {}), p.get("torch", {})
                row = (
                    f"| {m['name']} | {r['layer']} | {fmt_rate(tri.get('tokens_per_s'))} | "
                    f"{fmt_rate(ref.get('tokens_per_s'))} | {p.get('speedup', 0):.2f}× | "
                    f"{tri.get('tflop_per_s', 0):.0f} | {tri.get('gb_per_s', 0):.0f} | "
                    f"{tri.get('roofline_fraction', 0):.0%} | {p.get('bound')} |"
                )
                if phase == "decode":
                    g = p.get("triton_graph", {})
                    if "tokens_per_s" in g:
                        row += f" {fmt_rate(g['tokens_per_s'])} | {g['roofline_fraction']:.0%} |"
                    else:
                        row += f" {g.get('error', '—')[:60]} | — |"
                lines.append(row)
    lines += [
        "",
        "### Whole model, extrapolated from the measured layers (embedding and LM head not "
        "included)",
        "",
        "| model | B × L | prefill tok/s Triton | PyTorch | analytic bound | decode tok/s Triton "
        "(graph) | Triton eager | PyTorch | analytic bound | weights fit one GPU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in doc["models"]:
        e = m.get("model", {})
        b = m.get("analytic", {})
        lines.append(
            f"| {m['name']} | {m['batch']} × {m['context']} | "
            f"{fmt_rate(e.get('prefill_triton'))} | {fmt_rate(e.get('prefill_torch'))} | "
            f"{fmt_rate(b.get('prefill_tokens_per_s'))} | "
            f"{fmt_rate(e.get('decode_triton_graph'))} | "
            f"{fmt_rate(e.get('decode_triton'))} | {fmt_rate(e.get('decode_torch'))} | "
            f"{fmt_rate(b.get('decode_tokens_per_s'))} | {b.get('fits', '—')} |"
        )
    lines += ["", "Commands:", ""]
    for m in doc["models"]:
        lines.append(f"- `{m['command']}`")
    notes = sorted({n for m in doc["models"] for r in m["layers"] for n in r.get("notes", [])})
    if notes:
        lines += ["", "Approximations in the built layers:", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.environ.get("OUT") or str(ROOT / "out"))
    ap.add_argument("--models", default=",".join([m[0] for m in MODELS] + [z[0] for z in ZOO]))
    ap.add_argument("--dtype", default="bf16")
    ap.add_argument("--budget", type=float, default=0.4, help="seconds of timed runs per case")
    ap.add_argument("--budget-s", type=float, default=500.0,
                    help="seconds for the whole table: once the rows so far project past it, "
                         "the remaining rows time with a tenth of --budget (no row is skipped)")
    ap.add_argument("--no-check", action="store_true")
    ap.add_argument("--no-graphs", action="store_true")
    args = ap.parse_args()

    import torch

    from archlint.analysis.profile import Options
    from archlint.api import analyze, analyze_checkpoint
    from archlint.bench.kv import measure_kv
    from archlint.bench.run import run_layer
    from archlint.bench.timing import environment, measure_peaks
    from archlint.checkpoint import Checkpoint
    from archlint.source import SourceOptions

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = "cuda"
    doc: dict[str, Any] = {"environment": environment(), "models": []}
    t0 = time.time()
    peaks = measure_peaks(device)  # one set of ceilings for every row of the table
    doc["peaks"] = peaks.as_dict()
    pk = doc["peaks"]
    print(f"[{time.time() - t0:6.1f}s] {pk['gpu']}: copy {pk['copy_bytes_per_s'] / 1e12:.2f} "
          f"TB/s, bf16 mm {pk['bf16_flops'] / 1e12:.0f} TFLOP/s", flush=True)
    doc["moe_form"] = probe_moe_form(pk["gpu"])
    print(f"[{time.time() - t0:6.1f}s] MoE GEMM form: {doc['moe_form']}", flush=True)
    names = args.models.split(",")
    jobs = []  # (name, analysis, batch, context, why, groups, command, zoo)
    for name, batch, context, why in (m for m in MODELS if m[0] in names):
        analysis = analyze(name, Options(context=context, batch=batch, kv_dtype=args.dtype),
                           SourceOptions(offline=True))
        groups = layer_groups(analysis.spec)
        command = (f"archlint bench {name} --offline --batch {batch} --context {context} "
                   f"--layer N  (N ∈ {[g[0] for g in groups]})")
        jobs.append((name, analysis, batch, context, why, groups, command, False))
    for name, base_name, batch, context, why in (z for z in ZOO if z[0] in names):
        options = Options(context=context, batch=batch, kv_dtype=args.dtype)
        if base_name.endswith(".json.gz"):  # a real config in the zoo fixtures, whole model
            analysis = analyze_checkpoint(Checkpoint.load(ROOT / base_name), options)
            index = 0
        else:
            base = analyze(base_name, options, SourceOptions(offline=True))
            analysis, index = zoo_analysis(name, base)
        group = next(g for g in layer_groups(analysis.spec) if g[0] == index)
        command = (f"benchmarks/gpu_layers.py --models {name} (a spec built on {base_name}; "
                   f"`archlint bench MODEL --layer N` for a model whose adapter reads it)")
        jobs.append((name, analysis, batch, context, why, [group], command, True))

    rows_total = sum(len(j[5]) for j in jobs)
    rows_done = 0
    t_rows = time.time()

    def case_budget() -> float:
        """--budget, or a tenth of it once the mean row so far projects past --budget-s."""
        if not rows_done:
            return args.budget
        mean = (time.time() - t_rows) / rows_done
        projected = time.time() - t0 + mean * (rows_total - rows_done)
        return args.budget if projected <= args.budget_s else args.budget / 10

    def save() -> None:
        (out / "bench_models.json").write_text(json.dumps(doc, indent=1, default=str))
        (out / "bench_models.md").write_text(markdown(doc))

    for name, analysis, batch, context, why, groups, command, is_zoo in jobs:
        spec = analysis.spec
        entry: dict[str, Any] = {
            "name": name, "model_id": analysis.checkpoint.model_id, "batch": batch,
            "context": context, "why": why, "layers": [], "command": command, "zoo": is_zoo,
        }
        doc["models"].append(entry)
        # the whole model's cache, every layer at once (bench/kv.py), against the profile
        kvm = measure_kv(spec, analysis.profile, batch=batch, context=context, device=device)
        entry["kv_model"] = {"predicted_bytes": kvm.predicted_bytes,
                             "measured_bytes": kvm.measured_bytes,
                             "relative_error": kvm.relative_error, "tensors": kvm.tensors}
        torch.cuda.empty_cache()
        for index, count, desc in groups:
            budget = case_budget()
            print(f"[{time.time() - t0:6.1f}s] {name} layer {index} ({desc}, ×{count}) "
                  f"B={batch} L={context} (timing budget {budget:g} s a case)", flush=True)
            t_row = time.time()
            try:
                r = run_layer(analysis, layer=index, batch=batch, context=context,
                              dtype=args.dtype, device=device, check=not args.no_check,
                              graphs=not args.no_graphs, budget_s=budget,
                              peaks=peaks, encoder_tokens=ENCODER_TOKENS.get(name))
            except Exception as exc:
                traceback.print_exc()
                r = {"layer": index, "error": f"{type(exc).__name__}: {exc}"[:500],
                     "batch": batch, "context": context, "dtype": args.dtype}
                torch.cuda.empty_cache()
            r["group"], r["group_layers"] = desc, count
            r["row_wall_s"], r["case_budget_s"] = round(time.time() - t_row, 2), budget
            rows_done += 1
            entry["layers"].append(r)
            st = r.get("stages", {})
            print(f"    row {r['row_wall_s']:.1f} s; stages {st.get('wall_s')}; compiles "
                  f"{st.get('compiles')}", flush=True)
            for c in r.get("checks", []):
                print(f"    check {c['dtype']}: prefill {c.get('prefill_rel_err')} decode "
                      f"{c.get('decode_rel_err')} cache {c.get('cache_rel_err')} "
                      f"routing {c.get('routing_agreement')} ok={c.get('ok')} "
                      f"{c.get('error', '')}", flush=True)
            kv = r.get("kv", {})
            print(f"    KV predicted {kv.get('predicted_bytes')} measured "
                  f"{kv.get('measured_bytes')} ({kv.get('relative_error')})", flush=True)
            t = r.get("timing")
            if isinstance(t, dict):
                for ph in ("prefill", "decode"):
                    p = t[ph]
                    tri, ref = p["triton"], p.get("torch", {})
                    g = p.get("triton_graph", {})
                    print(f"    {ph}: triton {tri['median_s'] * 1e3:.3f} ms "
                          f"({tri['tokens_per_s']:.0f} tok/s, {tri['tflop_per_s']:.0f} TFLOP/s, "
                          f"{tri['gb_per_s']:.0f} GB/s, {tri['roofline_fraction']:.0%} roof)"
                          f" | torch {ref.get('median_s', 0) * 1e3:.3f} ms | speed-up "
                          f"{p.get('speedup', 0):.2f}x"
                          + (f" | graph {g['median_s'] * 1e3:.3f} ms "
                             f"({g['roofline_fraction']:.0%} roof)" if "median_s" in g
                             else (f" | graph error {g.get('error')}" if g else "")),
                          flush=True)
            else:
                print(f"    timing: {t or r.get('error')}", flush=True)
            save()
        rows = entry["layers"]
        if is_zoo:  # one layer of a stack built for it: no whole-model figure
            save()
            continue
        entry["model"] = {
            "prefill_triton": extrapolate(rows, "prefill", "triton"),
            "prefill_torch": extrapolate(rows, "prefill", "torch"),
            "decode_triton": extrapolate(rows, "decode", "triton"),
            "decode_triton_graph": extrapolate(rows, "decode", "triton_graph"),
            "decode_torch": extrapolate(rows, "decode", "torch"),
        }
        try:
            entry["analytic"] = analytic_bound(name, batch, context, doc["peaks"])
        except Exception as exc:
            entry["analytic"] = {"error": str(exc)[:300]}
        print(f"[{time.time() - t0:6.1f}s] {name} model: {entry['model']} analytic "
              f"{entry['analytic']}", flush=True)
        save()
    doc["elapsed_s"] = time.time() - t0
    save()
    print(markdown(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
