"""`archlint bench MODEL`: build one layer on a GPU and check the analytic profile against it.

Needs the `gpu` extra (torch, triton), imported only inside the command."""

from __future__ import annotations

import json
from typing import Any

import click

from archlint.cli_options import Terminal, color_option, source_options, text_or_json


@click.command("bench")
@click.argument("model")
@click.option(
    "--layer",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Which decoder layer to build.",
)
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--context", type=click.IntRange(min=1), default=8192, show_default=True)
@click.option("--dtype", default="bf16", show_default=True, help="Weights/activations dtype.")
@click.option("--kv-dtype", help="KV-cache dtype (default: --dtype).")
@click.option(
    "--device", default=None, help="cuda (default when available) or cpu (KV bytes only)."
)
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="Check the Triton path against PyTorch (fp32, then --dtype) before timing.",
)
@click.option(
    "--reference/--no-reference",
    default=True,
    show_default=True,
    help="Also time the eager PyTorch path (the speed-up's baseline).",
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0.01),
    default=0.5,
    show_default=True,
    help="Seconds of timed runs per case (median of at least 3-10 runs).",
)
@click.option(
    "--encoder-tokens",
    type=click.IntRange(min=1),
    default=None,
    help="Encoder (image/audio) tokens a cross-attention layer attends to (default 1601: "
    "one Llama-3.2-Vision tile).",
)
@click.option("--tp", type=click.IntRange(min=1), default=1, show_default=True,
              help="Tensor-parallel ranks: one process per GPU (NCCL; gloo without GPUs).")
@click.option("--ep", type=click.IntRange(min=1), default=1, show_default=True,
              help="Expert-parallel ranks for an MoE layer: one process per GPU.")
@text_or_json()
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@color_option
@source_options
def bench_command(
    model: str,
    layer: int,
    batch: int,
    context: int,
    dtype: str,
    kv_dtype: str | None,
    device: str | None,
    check: bool,
    reference: bool,
    budget: float,
    encoder_tokens: int | None,
    tp: int,
    ep: int,
    fmt: str,
    as_json: bool,
    color: str,
    source: Any,
) -> None:
    """Allocate the real KV cache for --batch sequences of --context tokens in a serving
    layout and compare its measured bytes with the prediction; on a GPU, also run the layer
    (prefill and decode) with the Triton kernels against a PyTorch reference."""
    try:
        import torch
    except ImportError:
        from archlint.errors import UsageError

        raise UsageError(
            "`archlint bench` needs the gpu extra: pip install 'archlint[gpu]'"
        ) from None
    from archlint.analysis.profile import Options
    from archlint.api import analyze
    from archlint.bench.kv import measure_kv

    if tp > 1 or ep > 1:
        from archlint.bench.distributed import launch
        from archlint.errors import UsageError

        if tp > 1 and ep > 1:
            raise UsageError("--tp and --ep: one at a time")
        argv = [model, "--layer", str(layer), "--batch", str(batch), "--context", str(context),
                "--dtype", dtype, "--tp", str(tp), "--ep", str(ep)]
        if getattr(source, "offline", False):
            argv.append("--offline")
        click.echo(json.dumps(launch(argv, max(tp, ep)), indent=2, default=str))
        return

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    analysis = analyze(
        model,
        Options(context=context, batch=batch, kv_dtype=kv_dtype or dtype),
        source,
    )
    kv = measure_kv(analysis.spec, analysis.profile, batch=batch, context=context, device=device)
    result = {
        "model": analysis.checkpoint.model_id,
        "device": device,
        "batch": batch,
        "context": context,
        "kv_dtype": analysis.profile.kv.dtype,
        "kv_predicted_bytes": kv.predicted_bytes,
        "kv_measured_bytes": kv.measured_bytes,
        "kv_relative_error": kv.relative_error,
        "kv_tensors": kv.tensors,
    }
    if device.startswith("cuda"):
        from archlint.bench.run import run_layer

        result["layer"] = run_layer(
            analysis,
            layer=layer,
            batch=batch,
            context=context,
            dtype=dtype,
            device=device,
            check=check,
            reference=reference,
            budget_s=budget,
            encoder_tokens=encoder_tokens,
        )
    if as_json or fmt == "json":
        click.echo(json.dumps(result, indent=2, default=str))
        return
    out = Terminal(color)
    for line in describe_result(result, kv):
        click.echo(_styled(out.fit(line, indent=4), out), color=True)


def describe_result(result: dict[str, Any], kv: Any) -> list[str]:
    """The text report's lines: the model and layout, the KV check, then the layer's."""
    lines = [
        f"{result['model']} on {result['device']}: batch {result['batch']} × "
        f"{result['context']:,} tokens, KV {result['kv_dtype']}",
        f"  KV cache predicted {kv.predicted_bytes:,} B, measured {kv.measured_bytes:,} B "
        f"({kv.relative_error:+.3%}) in {kv.tensors} tensors",
    ]
    layer_result = result.get("layer")
    if isinstance(layer_result, dict):
        lines.extend(f"  {line}" for line in describe_layer(layer_result))
    elif "layer" in result:
        lines.append(f"  layer: {result['layer']}")
    return lines


def _styled(line: str, out: Terminal) -> str:
    """The heading line bold, a failed check red (styles only where colour is on)."""
    if not line.startswith(" "):
        return out.style(line, bold=True)
    if line.endswith("FAILED"):
        return line[: -len("FAILED")] + out.style("FAILED", fg="red", bold=True)
    return line


def describe_layer(r: dict[str, Any]) -> list[str]:
    """Human lines for `run_layer`'s result: checks first, then KV, then speeds."""
    lines = [f"layer {r['layer']} of {r['num_layers']} ({r['dtype']})"]
    peaks = r.get("peaks")
    if peaks:
        lines.append(
            f"{peaks['gpu']}: measured copy {peaks['copy_bytes_per_s'] / 1e12:.2f} TB/s, "
            f"bf16 matmul {peaks['bf16_flops'] / 1e12:.0f} TFLOP/s"
        )
    for c in r.get("checks", []):
        if "error" in c:
            lines.append(f"check {c['dtype']}: {c['error']}")
            continue
        route = c.get("routing_agreement")
        lines.append(
            f"check {c['dtype']} (Triton vs PyTorch, rel. error): prefill "
            f"{c['prefill_rel_err']:.1e}, decode {c['decode_rel_err']:.1e}, cache "
            f"{c['cache_rel_err']:.1e}"
            + (f", routing agreement {route:.3f}" if route else "")
            + ("" if c["ok"] else "  FAILED")
        )
    kv = r.get("kv", {})
    if "predicted_bytes" in kv:
        lines.append(
            f"layer KV ({kv['kind']}, {kv['slots']:,} slots): predicted "
            f"{kv['predicted_bytes']:,} B, measured {kv['measured_bytes']:,} B "
            f"({kv['relative_error']:+.3%})"
        )
    timing = r.get("timing")
    if isinstance(timing, str):
        lines.append(timing)
    elif isinstance(timing, dict):
        for phase, entry in timing.items():
            for path in ("triton", "triton_graph", "torch"):
                t = entry.get(path)
                if not isinstance(t, dict) or "median_s" not in t:
                    continue
                lines.append(
                    f"{phase:7s} {path:12s} {t['median_s'] * 1e3:9.3f} ms  "
                    f"{t['tokens_per_s']:12,.0f} tok/s layer  "
                    f"{t['model_tokens_per_s']:10,.0f} tok/s × {r['num_layers']} layers  "
                    f"{t['tflop_per_s']:6.1f} TFLOP/s  {t['gb_per_s']:7.0f} GB/s  "
                    f"{t['roofline_fraction']:5.1%} of roofline"
                )
            if "speedup" in entry:
                lines.append(f"{phase:7s} speed-up over PyTorch: {entry['speedup']:.2f}×")
        lines.append("(model tok/s = layer × num_layers; embedding and LM head not included)")
    for note in r.get("notes", []):
        lines.append(f"note: {note}")
    return lines


__all__ = ["bench_command"]
