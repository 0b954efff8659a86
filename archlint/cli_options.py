"""The click options that several subcommands share, and the objects they become.

``@source_options`` adds the Hub/cache/offline options and hands the command one
``source: SourceOptions``; ``@profile_options`` adds context, batch, KV dtype and GPU and
hands it one ``options: Options`` (the GPU resolved once, by
:func:`archlint.analysis.hardware.resolve_gpu`, and the KV dtype checked before any network).
Subcommands import these, never ``cli``'s internals.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from archlint.analysis.defaults import DEFAULT_GPU
from archlint.errors import UsageError

if TYPE_CHECKING:
    from archlint.analysis.profile import Options
    from archlint.source import SourceOptions

__all__ = ["emit", "make_options", "make_source", "profile_options", "source_options"]

_SOURCE_KEYS = ("revision", "offline", "no_auth", "token", "endpoint", "cache_dir", "no_cache",
                "use_catalog", "timeout", "gguf_file", "gguf_quant")
_PROFILE_KEYS = ("context", "batch", "kv_dtype", "dtype", "gpu", "gpu_file", "kv_type", "gpus",
                 "tp", "pp", "ep", "gpu_memory_utilization", "max_num_batched_tokens",
                 "max_num_seqs", "block_size")


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """FloatRange lets NaN through (every comparison with NaN is false)."""
    import math

    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of seconds", ctx=ctx, param=param)
    return value


def _with_options(options: list[Any], keys: tuple[str, ...], name: str,
                  build: Callable[..., Any]) -> Callable[[Any], Any]:
    """A decorator adding ``options`` to a command and passing ``build(**their values)`` to it
    as the one keyword argument ``name``."""

    def decorate(f: Any) -> Any:
        @functools.wraps(f)
        def command(*args: Any, **kwargs: Any) -> Any:
            values = {key: kwargs.pop(key) for key in keys}
            kwargs[name] = build(**values)
            return f(*args, **kwargs)

        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def make_source(
    revision: str | None = None,
    offline: bool = False,
    no_auth: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    cache_dir: Path | None = None,
    no_cache: bool = False,
    use_catalog: bool = False,
    timeout: float = 10.0,
    gguf_file: str | None = None,
    gguf_quant: str | None = None,
) -> SourceOptions:
    """The SourceOptions the source options describe."""
    from archlint.source import SourceOptions

    return SourceOptions(
        gguf_file=gguf_file,
        gguf_quant=gguf_quant,
        revision=revision,
        offline=offline,
        token=False if no_auth else (token or None),
        endpoint=endpoint,
        cache_dir=cache_dir,
        use_cache=not no_cache,
        prefer="catalog" if use_catalog else "auto",
        timeout=timeout,
    )


def make_options(
    context: int | None,
    batch: int,
    kv_dtype: str | None,
    gpu: str | None,
    gpu_file: str | None,
    dtype: str | None = None,
    kv_type: str | None = None,
    gpus: str | None = None,
    tp: int | None = None,
    pp: int = 1,
    ep: int = 1,
    gpu_memory_utilization: float = 0.9,
    max_num_batched_tokens: int | None = None,
    max_num_seqs: int | None = None,
    block_size: int = 16,
) -> Options:
    """The Options the profile options describe; a bad --kv-dtype, --dtype, --gpu or layout
    fails here, before any network."""
    from archlint.analysis.hardware import resolve_gpu
    from archlint.analysis.profile import DEFAULT_CONTEXT, Options, cache_dtype

    cache_dtype(kv_dtype, "bf16")
    cache_dtype(dtype, "bf16", "--dtype")
    if kv_type is not None:
        from archlint.analysis.gguf import check_kv_type

        kv_type = check_kv_type(kv_type)
    return Options(context=context or DEFAULT_CONTEXT, context_auto=context is None,
                   batch=batch, kv_dtype=kv_dtype, dtype=dtype,
                   gpu=resolve_gpu(gpu, gpu_file), kv_type=kv_type,
                   serving=make_serving(gpus, tp, pp, ep, gpu_memory_utilization,
                                        max_num_batched_tokens, max_num_seqs, block_size))


def make_serving(
    gpus: str | None,
    tp: int | None,
    pp: int,
    ep: int,
    utilization: float,
    max_num_batched_tokens: int | None,
    max_num_seqs: int | None,
    block_size: int,
) -> Any:
    """The serving plan's options: `--gpus N` means TP = N / PP unless --tp says otherwise;
    `--gpus auto` searches the smallest layout (up to 8 GPUs)."""
    from archlint.analysis.serving import ServingOptions

    auto = gpus is not None and gpus.strip().lower() == "auto"
    count = None
    if gpus is not None and not auto:
        try:
            count = int(gpus)
        except ValueError:
            raise UsageError(f"--gpus must be a number or 'auto', not {gpus!r}") from None
        if count < 1:
            raise UsageError("--gpus must be at least 1")
    if tp is None:
        tp = max(1, (count or pp) // pp)
    if count is not None and tp * pp != count:
        raise UsageError(f"--gpus {count} does not match --tp {tp} × --pp {pp}")
    if ep > 1 and ep != tp:
        raise UsageError(f"--ep {ep} must equal --tp {tp} (vLLM's expert parallelism spans the "
                         "tensor-parallel ranks)")
    return ServingOptions(tp=tp, pp=pp, ep=ep, gpu_memory_utilization=utilization,
                          max_num_batched_tokens=max_num_batched_tokens,
                          max_num_seqs=max_num_seqs, block_size=block_size, auto=auto)


_SOURCE_OPTIONS = [
    click.option("--revision", help="Branch, tag, commit sha or refs/pr/N (or MODEL@REV)."),
    click.option(
        "--offline",
        is_flag=True,
        envvar="ARCHLINT_OFFLINE",
        help="No network: answer from the header cache, then the bundled catalog "
        "(HF_HUB_OFFLINE=1 does the same).",
    ),
    click.option("--no-auth", is_flag=True, help="Send no Hugging Face token."),
    click.option(
        "--token",
        metavar="TOKEN",
        help="Hugging Face token for gated/private models (default: $HF_TOKEN or the one "
        "`hf auth login` saved).",
    ),
    click.option(
        "--endpoint",
        envvar="HF_ENDPOINT",
        help="Hub endpoint (default $HF_ENDPOINT or https://huggingface.co).",
    ),
    click.option(
        "--cache-dir",
        type=click.Path(path_type=Path),
        envvar="ARCHLINT_CACHE",
        help="Header cache (default ~/.cache/archlint).",
    ),
    click.option("--no-cache", is_flag=True, help="Neither read nor write the header cache."),
    click.option(
        "--timeout",
        type=click.FloatRange(min=0.1, max=3600),
        callback=_finite,
        default=10.0,
        show_default=True,
        envvar="ARCHLINT_TIMEOUT",
        help="Seconds to wait for each Hub response before retrying.",
    ),
    click.option(
        "--catalog",
        "use_catalog",
        is_flag=True,
        help="Answer from the bundled catalog without asking the Hub.",
    ),
    click.option(
        "--file",
        "gguf_file",
        metavar="NAME",
        help="GGUF repo or directory: the .gguf file (or first part of a split set) to analyse.",
    ),
    click.option(
        "--quant",
        "gguf_quant",
        metavar="TYPE",
        help="GGUF repo or directory: analyse the file of this quantization (Q4_K_M, Q8_0, "
        "IQ3_XXS...); default Q4_K_M when there is one.",
    ),
]
_PROFILE_OPTIONS = [
    click.option(
        "--context",
        "--max-model-len",
        "context",
        type=click.IntRange(min=1),
        default=None,
        help="Context length for KV cache, FLOPs and roofline (vLLM: --max-model-len). "
        "Default: 8192, or the model's maximum context when that is shorter (compare: 8192).",
    ),
    click.option(
        "--batch",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="Sequences decoded together.",
    ),
    click.option(
        "--kv-dtype",
        "--kv-cache-dtype",
        "kv_dtype",
        help="KV-cache dtype (bf16, fp16, fp8, fp32); default: the "
        "serving dtype, as vLLM's 'auto'.",
    ),
    click.option(
        "--kv-type",
        metavar="TYPE",
        help="llama.cpp's KV-cache type (-ctk/-ctv: f16, q8_0, q4_0, bf16, f32...): adds the "
        "cache in llama.cpp's conventions (always shown for GGUF files, at f16 by default).",
    ),
    click.option(
        "--dtype",
        help="Serving dtype (bf16, fp16, fp32); default: vLLM's 'auto' (the checkpoint's "
        "16-bit dtype; bfloat16 for float32 checkpoints).",
    ),
    click.option(
        "--gpu",
        default=DEFAULT_GPU,
        show_default=True,
        help="GPU for the roofline: H100, H200, A100, L40S, MI300X, RTX4090, or one "
        "from --gpu-file; 'none' to skip.",
    ),
    click.option(
        "--gpu-file",
        type=click.Path(exists=True, dir_okay=False),
        envvar="ARCHLINT_GPUS",
        help="TOML/JSON file adding GPUs ([gpus.NAME] memory_mib, bandwidth_tbs, bf16_tflops, "
        "interconnect_gbs).",
    ),
    click.option("--gpus", help="GPUs per replica for the serving plan (N, or 'auto': the "
                 "smallest TP×PP that fits --batch sequences of --context)."),
    click.option("--tp", type=click.IntRange(min=1), help="Tensor-parallel size (default 1)."),
    click.option("--pp", type=click.IntRange(min=1), default=1, help="Pipeline-parallel size."),
    click.option("--ep", type=click.IntRange(min=1), default=1,
                 help="Expert-parallel size (MoE; equal to --tp, as vLLM's "
                 "--enable-expert-parallel)."),
    click.option("--gpu-memory-utilization", type=click.FloatRange(min=0.01, max=1.0),
                 default=0.9, show_default=True, help="vLLM's share of GPU memory."),
    click.option("--max-num-batched-tokens", type=click.IntRange(min=1),
                 help="vLLM's token budget per step (sizes the profiling forward; default "
                 "vLLM's for the GPU: 8192, or 2048 below 70 GiB and on A100)."),
    click.option("--max-num-seqs", type=click.IntRange(min=1),
                 help="vLLM's sequences per step (default 1024, or 256 as above)."),
    click.option("--block-size", type=click.IntRange(min=1), default=16,
                 help="KV-cache block size in tokens.", show_default=True),
]

source_options = _with_options(_SOURCE_OPTIONS, _SOURCE_KEYS, "source", make_source)
profile_options = _with_options(_PROFILE_OPTIONS, _PROFILE_KEYS, "options", make_options)


def emit(text: str, output: Path | None, *, quiet: bool = False) -> None:
    """The document to stdout, or to ``output`` (a one-line note on stderr says so)."""
    if output is None:
        # color=True: the renderer already decided (resolve_color); click would strip ANSI
        # from a pipe and so ignore --color always / FORCE_COLOR.
        click.echo(text, nl=not text.endswith("\n"), color=True)
        return
    try:
        output.write_text(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    if not quiet:
        click.echo(f"archlint: wrote {output}", err=True)


COLOR_MODES = ("auto", "always", "never")

#: ``--color [auto|always|never]``; a bare ``--color`` means always.
color_option = click.option(
    "--color",
    type=click.Choice(COLOR_MODES),
    default="auto",
    is_flag=False,
    flag_value="always",
    show_default=True,
    help="Colour: auto (a terminal, unless NO_COLOR or TERM=dumb; FORCE_COLOR forces it), "
    "always, never.",
)


def _count_verbosity(f: Any) -> Any:
    @functools.wraps(f)
    def command(*args: Any, **kwargs: Any) -> Any:
        kwargs["verbosity"] = kwargs.pop("verbose") - kwargs.pop("quiet")
        return f(*args, **kwargs)

    command = click.option("-q", "--quiet", count=True,
                           help="Print only the findings/report: no notes on stderr.")(command)
    return click.option("-v", "--verbose", count=True,
                        help="Say which config and repository root are used.")(command)


verbosity_options = _count_verbosity


def resolve_color(mode: str | bool | None, to_terminal: bool) -> bool:
    """Whether to write colour. ``always``/``never`` (or True/False) decide; ``auto`` (None)
    colours a terminal unless ``NO_COLOR`` is set or ``TERM=dumb``; ``FORCE_COLOR`` forces it
    (https://no-color.org, https://force-color.org)."""
    import os

    if mode in ("always", True):
        return True
    if mode in ("never", False):
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return to_terminal and os.environ.get("TERM") != "dumb"


def terminal_width() -> int:
    """The terminal's columns ($COLUMNS first, as shutil reads it)."""
    import shutil

    return shutil.get_terminal_size().columns


class Terminal:
    """How a plain-text subcommand (rules, catalog, bench) writes: colour from ``--color`` and
    the environment (:func:`resolve_color`), and a width when there is one to respect (a
    terminal, or ``$COLUMNS`` set) so long lines wrap at spaces instead of being cut."""

    def __init__(self, color: str | bool | None, output: Path | None = None) -> None:
        import os
        import sys

        to_terminal = output is None and sys.stdout.isatty()
        self.color = resolve_color(color, to_terminal)
        self.width = terminal_width() if to_terminal or "COLUMNS" in os.environ else None

    def style(self, text: str, **styles: Any) -> str:
        """``text`` in click's ``styles`` (bold=True, fg="red"...) when colour is on."""
        return click.style(text, **styles) if self.color else text

    def fit(self, line: str, indent: int = 4) -> str:
        """``line`` wrapped at spaces to the width, continuation lines indented by ``indent``
        (a word longer than the width stays whole: a model id is never split)."""
        if self.width is None or len(line) <= self.width:
            return line
        import textwrap

        return "\n".join(textwrap.wrap(line, width=self.width, subsequent_indent=" " * indent,
                                       break_long_words=False, break_on_hyphens=False))


def text_or_json(default: str = "text") -> Callable[[Any], Any]:
    """``--format/--output-format/-f [text|json]``, the list subcommands' one output option."""
    return click.option("--format", "--output-format", "-f", "fmt",
                        type=click.Choice(["text", "json"]), default=default,
                        show_default=True, help="Output format.")
