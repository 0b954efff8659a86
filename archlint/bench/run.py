"""`run_layer`: build layer N of a model at its real size, measure its cache against the
profile, check Triton against PyTorch (fp32, then the bench dtype), and only then time prefill
(B×L tokens) and decode (one new token per sequence against L cached tokens) on both paths."""

from __future__ import annotations

from typing import Any

from archlint.bench.checks import check_layer, check_ok
from archlint.bench.layer import DTYPE_BYTES, BenchLayer, LayerCache
from archlint.bench.modelmath import Work
from archlint.spec import ModelSpec


def phase_work(layer: BenchLayer, cache: LayerCache, *, batch: int, tokens_per_seq: int,
               pos: int, decode: bool, experts_touched: int) -> Work:
    """The floor of one call.

    Bytes: every non-expert weight once, each touched expert once, and the cache (decode:
    read what it attends to, or the recurrent state read and written; prefill: written once);
    activations are left out (a prefill is compute-bound; a decode's are KB). FLOPs: 2 ×
    parameters × tokens through the linear layers, plus the mixer's own work (attention
    2·pairs·(Dqk + Dv) per head; MLA decode in the absorbed form, its prefill with the K/V
    decompression GEMMs; the scan of a recurrent mixer).
    """
    wb = layer.weight_bytes()
    t = batch * tokens_per_seq
    nbytes = wb["dense"] + experts_touched * layer.expert_bytes()
    nbytes += layer.cache_traffic(cache, batch, tokens_per_seq, pos, decode)
    kv_tokens = layer.valid(cache, pos) if decode else cache.cap
    flops = float(layer.linear_flops_per_token() * t)
    flops += layer.mixer_flops(batch, tokens_per_seq, kv_tokens, decode)
    return Work(bytes=float(nbytes), flops=flops)


def layer_kv_prediction(prof: Any, index: int, *, cross: bool) -> Any:
    """The profile's entry for this layer's cache (a decoder layer with cross-attention has
    two entries; a cross-attention layer's is the 'cross' one)."""
    entries = [lkv for lkv in prof.kv.per_layer if lkv.index == index]
    for lkv in entries:
        if (lkv.kind == "cross") == cross:
            return lkv
    return entries[0] if entries else None


def measure_cache(bl: BenchLayer, prof: Any, *, layer: int, batch: int, context: int,
                  dtype: str) -> tuple[LayerCache, dict[str, Any]]:
    """Allocate the layer's cache on the device and compare its bytes with the prediction."""
    cache = bl.alloc_cache(batch, context, measure=True)
    cross = bool(getattr(bl.mixer, "cross", False))
    lkv = layer_kv_prediction(prof, layer, cross=cross)
    kv: dict[str, Any] = {"measured_bytes": cache.bytes, "slots": cache.cap,
                          "layout": {k: list(t.shape) for k, t in cache.tensors.items()},
                          "cache_dtype": dtype, "profile_kv_dtype": prof.kv.dtype,
                          "state_dtype": prof.kv.state_dtype}
    if lkv is not None:
        tokens = context if lkv.cap_tokens is None else min(context, lkv.cap_tokens)
        growing = lkv.bytes_per_token * tokens
        if cross:
            growing = lkv.bytes_per_encoder_token * bl.mixer.encoder_tokens
        state = lkv.state_bytes
        if prof.kv.dtype_bytes != DTYPE_BYTES[dtype]:  # compare like with like
            growing = growing * DTYPE_BYTES[dtype] / prof.kv.dtype_bytes
            kv["note"] = f"prediction rescaled from {prof.kv.dtype} to {dtype}"
        state_elem = bl.state_dtype.itemsize
        profile_state = DTYPE_BYTES.get(prof.kv.state_dtype, state_elem)
        if state and profile_state != state_elem:
            state = state * state_elem / profile_state
            kv["note"] = f"state prediction rescaled from {prof.kv.state_dtype}"
        pred = round((growing + state) * batch)
        kv["predicted_bytes"] = pred
        kv["kind"] = lkv.kind
        kv["relative_error"] = cache.bytes / pred - 1 if pred else float(cache.bytes != 0)
        kv["ok"] = (cache.bytes == 0) if pred == 0 else abs(kv["relative_error"]) < 0.01
    return cache, kv


def _summary(spec: ModelSpec, index: int) -> dict[str, Any]:
    lspec = spec.layers[index]
    att = {k: v for k, v in lspec.attention.model_dump(exclude={"provenance"}).items()
           if v not in (None, False)}
    ffn = {k: v for k, v in lspec.ffn.model_dump(exclude={"provenance"}).items()
           if v not in (None, False, 0)}
    return {"attention": att, "ffn": ffn}


def run_layer(
    analysis: Any,
    *,
    layer: int = 0,
    batch: int = 8,
    context: int = 4096,
    dtype: str = "bf16",
    device: str = "cuda",
    check: bool = True,
    reference: bool = True,
    graphs: bool = True,
    budget_s: float = 0.5,
    seed: int = 0,
    peaks: Any = None,
    encoder_tokens: int | None = None,
    warmup: int = 1,
) -> dict[str, Any]:
    """Build layer `layer` of `analysis.spec` at its real size, measure its cache against
    the profile, check Triton against PyTorch (fp32, then `dtype`), then time prefill and
    decode on both paths. Returns a JSON-able dict (numbers exact; seconds as floats).

    On a CPU it stops after the checks and the cache unless `peaks` (a timing.Peaks) is
    given: then it also times with the host clock (for tests of the plumbing, not numbers).
    `warmup` is the passes over the input sets before timing (the first call autotunes).
    `result["stages"]` holds the wall seconds of each stage and the Triton compiles in it."""
    import torch

    from archlint.bench.compilelog import LOG, Stages
    from archlint.bench.timing import measure_peaks

    stages = Stages(LOG.install() if device.startswith("cuda") else None)

    spec: ModelSpec = analysis.spec
    config = getattr(analysis.checkpoint, "config", None)
    prof = analysis.profile
    result: dict[str, Any] = {
        "model": getattr(analysis.checkpoint, "model_id", None), "layer": layer,
        "num_layers": spec.num_layers, "batch": batch, "context": context, "dtype": dtype,
        "device": device, **_summary(spec, layer),
    }
    on_gpu = device.startswith("cuda")
    if on_gpu:
        torch.cuda.reset_peak_memory_stats(device)
        peaks = peaks or measure_peaks(device)
    if peaks is not None:
        result["peaks"] = peaks.as_dict()
    state_dtype = prof.kv.state_dtype if prof.kv.state_dtype in DTYPE_BYTES else None

    # 1. correctness, fp32 first, before any speed
    if check:
        result["checks"] = _run_checks(spec, layer, dtype=dtype, device=device, seed=seed,
                                       config=config, encoder_tokens=encoder_tokens,
                                       stages=stages)
        result["correct"] = all(c["ok"] for c in result["checks"])

    # 2. build at the bench dtype, cache measured against the prediction
    stages.start("build")
    bl = BenchLayer(spec, layer, dtype=dtype, device=device, seed=seed, config=config,
                    state_dtype=state_dtype if dtype != "fp32" else None,
                    encoder_tokens=encoder_tokens)
    result["notes"] = bl.notes
    result["weight_bytes"] = bl.weight_bytes()
    cache, result["kv"] = measure_cache(bl, prof, layer=layer, batch=batch, context=context,
                                        dtype=dtype)
    if peaks is None:
        result["stages"] = stages.as_dict()
        return result
    if check and not result.get("correct"):
        result["timing"] = "skipped: the Triton path does not match the reference"
        result["stages"] = stages.as_dict()
        return result

    # 3. speed: prefill, then decode against the cache the prefill wrote
    timer = _PhaseTimer(bl, cache, spec, peaks, budget_s=budget_s,
                        paths=["triton", "torch"] if reference else ["triton"],
                        warmup=warmup, stages=stages)
    result["timing"] = timer.run(batch, context, graphs=graphs and on_gpu, on_gpu=on_gpu)
    result["stages"] = stages.as_dict()
    bl = cache = timer = None  # type: ignore[assignment]  # free the layer before the next one
    if on_gpu:
        result["max_memory_allocated"] = int(torch.cuda.max_memory_allocated(device))
        torch.cuda.empty_cache()
    return result


def _run_checks(spec: ModelSpec, layer: int, *, dtype: str, device: str, seed: int,
                config: Any, encoder_tokens: int | None,
                stages: Any = None) -> list[dict[str, Any]]:
    """Triton against the PyTorch reference at fp32, then at `dtype`; an out-of-memory, or a
    kernel the chip refuses (Triton's OutOfResources: the autotune lists are pruned by the
    device's shared memory, so this means an estimate in kernels/ is wrong), is a failed check
    with its message, not a crash."""
    import torch

    refused: tuple[type[BaseException], ...] = ()
    try:
        from triton.runtime.errors import OutOfResources

        refused = (OutOfResources,)
    except ImportError:  # no Triton: only the torch path runs
        pass
    checks = []
    for dt in dict.fromkeys(["fp32", dtype]):
        if stages is not None:
            stages.start(f"check {dt}")
        try:
            r = check_layer(spec, layer, dtype=dt, device=device, seed=seed + 1,
                            config=config, encoder_tokens=encoder_tokens)
            r["ok"] = check_ok(r)
        except torch.cuda.OutOfMemoryError as exc:
            r = {"dtype": dt, "ok": False, "error": f"out of memory: {exc}"[:300]}
        except refused as exc:
            r = {"dtype": dt, "ok": False, "error": f"kernel refused: {exc}"[:300]}
        checks.append(r)
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    return checks


class _PhaseTimer:
    """Times one built layer's prefill and decode on each path, with the work each phase
    does (bytes, FLOPs) and its roofline bound beside the measured rates."""

    def __init__(self, bl: BenchLayer, cache: Any, spec: ModelSpec, peaks: Any, *,
                 budget_s: float, paths: list[str], warmup: int = 1, stages: Any = None) -> None:
        self.bl, self.cache, self.spec, self.peaks = bl, cache, spec, peaks
        self.budget_s, self.paths, self.warmup = budget_s, paths, warmup
        self.stages = stages

    def _stage(self, name: str) -> None:
        if self.stages is not None:
            self.stages.start(name)

    def rates(self, t: Any, tokens: int, work: Work) -> dict[str, Any]:
        s = t.median_s
        bw, flops = self.peaks.copy_bytes_per_s, self.peaks.bf16_flops
        return {**t.as_dict(), "tokens_per_s": tokens / s,
                "model_tokens_per_s": tokens / (s * self.spec.num_layers),
                "gb_per_s": work.bytes / s / 1e9, "tflop_per_s": work.flops / s / 1e12,
                "roofline_fraction": work.roofline_s(bw, flops) / s}

    def phase(self, name: str, fn: Any, inputs: list[tuple[Any, ...]], *, tokens: int,
              seqs: int, per_seq: int, pos: int, decode: bool) -> tuple[dict[str, Any], Work]:
        import torch

        from archlint.bench.timing import time_fn

        self._stage(f"{name} setup")
        out: dict[str, Any] = {"tokens": tokens}
        touched = 0
        if self.bl.moe:
            with torch.no_grad():  # the routing is the same on every path: probe the first
                fn(self.paths[0], *inputs[0])
            touched = int(torch.unique(self.bl.last_routing[1]).numel())  # type: ignore[index]
            out["experts_touched"] = touched
        work = phase_work(self.bl, self.cache, batch=seqs, tokens_per_seq=per_seq, pos=pos,
                          decode=decode, experts_touched=touched)
        bw, flops = self.peaks.copy_bytes_per_s, self.peaks.bf16_flops
        out.update(bytes=work.bytes, flops=work.flops, roofline_s=work.roofline_s(bw, flops),
                   bound=work.bound(bw, flops))
        for p in self.paths:
            self._stage(f"{name} {p}")
            with torch.no_grad():
                t = time_fn(lambda *a, p=p: fn(p, *a), inputs, budget_s=self.budget_s,
                            warmup=self.warmup, min_runs=3 if name == "prefill" else 10)
            out[p] = self.rates(t, tokens, work)
        if "torch" in out and "triton" in out:
            out["speedup"] = out["torch"]["median_s"] / out["triton"]["median_s"]
        return out, work

    def graph_decode(self, d: dict[str, Any], xd: list[tuple[Any, ...]], pos: int,
                     work: Work, batch: int) -> None:
        """Decode replayed from a CUDA graph (best effort: the eager numbers stand)."""
        import torch

        from archlint.bench.timing import time_graphs

        self._stage("decode graph")
        try:
            with torch.no_grad():
                t = time_graphs(lambda x: self.bl.decode(x, self.cache, pos, "triton"), xd,
                                budget_s=self.budget_s, min_runs=20)
            d["triton_graph"] = self.rates(t, batch, work)
            if "torch" in d:
                d["speedup_graph"] = d["torch"]["median_s"] / t.median_s
        except Exception as exc:
            d["triton_graph"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}

    def run(self, batch: int, context: int, *, graphs: bool, on_gpu: bool) -> dict[str, Any]:
        import torch

        bl, cache = self.bl, self.cache
        timing: dict[str, Any] = {}
        # prefill: B sequences of L tokens into the cache (two input sets, rotated)
        xs = [(bl.random_input(batch, context),) for _ in range(2)]
        timing["prefill"], _ = self.phase(
            "prefill", lambda p, x: bl.prefill(x, cache, p), xs, tokens=batch * context,
            seqs=batch, per_seq=context, pos=0, decode=False)
        del xs
        if on_gpu:
            torch.cuda.empty_cache()
        # decode: one token per sequence at position L-1 against the L-token cache the
        # prefill wrote (a window's ring holds its last W); eight input sets rotated
        pos = context - 1
        xd = [(bl.random_input(batch),) for _ in range(8)]
        timing["decode"], work = self.phase(
            "decode", lambda p, x: bl.decode(x, cache, pos, p), xd, tokens=batch, seqs=batch,
            per_seq=1, pos=pos, decode=True)
        timing["decode"]["kv_tokens_read"] = bl.valid(cache, pos)
        if graphs:
            self.graph_decode(timing["decode"], xd, pos, work, batch)
        return timing


__all__ = ["measure_cache", "phase_work", "run_layer"]
