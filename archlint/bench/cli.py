"""`archlint bench MODEL`: build one layer on a GPU and check the analytic profile against it.

Needs the `gpu` extra (torch, triton), imported only inside the command."""

from __future__ import annotations

import json

import click


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
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--offline", is_flag=True, help="Use the cache and the bundled catalog only.")
def bench_command(
    model: str,
    layer: int,
    batch: int,
    context: int,
    dtype: str,
    kv_dtype: str | None,
    device: str | None,
    as_json: bool,
    offline: bool,
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
    from archlint.source import SourceOptions

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    analysis = analyze(
        model,
        Options(context=context, batch=batch, kv_dtype=kv_dtype or dtype),
        SourceOptions(offline=offline),
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
        try:
            from archlint.bench.layer import run_layer
        except ImportError:
            result["layer"] = "layer benchmark not available in this build"
        else:
            result["layer"] = run_layer(
                analysis, layer=layer, batch=batch, context=context, dtype=dtype, device=device
            )
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    click.echo(
        f"{result['model']} on {device}: batch {batch} × {context:,} tokens, "
        f"KV {result['kv_dtype']}"
    )
    click.echo(
        f"  KV cache predicted {kv.predicted_bytes:,} B, measured {kv.measured_bytes:,} B "
        f"({kv.relative_error:+.3%}) in {kv.tensors} tensors"
    )
    if "layer" in result:
        click.echo(f"  layer: {result['layer']}")


__all__ = ["bench_command"]
