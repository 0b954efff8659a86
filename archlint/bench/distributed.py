"""`archlint bench MODEL --tp N` / `--ep N`: one layer sharded over N processes, one per GPU.

The command starts N workers itself (`python -m archlint.bench.distributed`, with RANK,
LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, as torchrun sets them; under torchrun
the worker runs directly). Every worker's environment has NVLink multicast off
(`parallel.MULTICAST_OFF`). Backend: NCCL when there is a GPU per rank, else gloo on CPUs.

Each rank builds the layer with the same seed (so every rank has the same full weights and
inputs) and runs its shard (`parallel.py`): tensor parallelism shards attention by heads and
the dense FFN by columns (one all-reduce each); expert parallelism gives each rank E/N experts
and T/N tokens (all-to-all dispatch and combine). It checks the sharded output against the
unsharded computation of the same function, reports the rank's weight bytes against the
plan's prediction, and times the sharded call and the collective alone (an all-reduce of the
[T, C] output, or an all-to-all of the dispatched slots) as a bandwidth probe. Rank 0 prints the
JSON result.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from typing import Any

from archlint.bench.parallel import (
    attention_shard,
    ep_moe,
    ffn_shard,
    multicast_off_env,
    tp_attention,
    tp_dense_ffn,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: Wall-clock bound on a whole sharded run: a rank that dies leaves the others waiting in a
#: collective (gloo and NCCL wait 30 minutes by default), so the launcher stops them all.
LAUNCH_TIMEOUT_S = 600


def launch(argv: list[str], world: int, timeout_s: float = LAUNCH_TIMEOUT_S) -> dict[str, Any]:
    """Run `world` workers with `argv` and return rank 0's result (torchrun-compatible: each
    worker reads the standard variables). Raises RuntimeError when a rank fails or the run
    exceeds `timeout_s` (every worker is then killed)."""
    import time

    port = _free_port()
    procs = []
    for rank in range(world):
        env = multicast_off_env()
        env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen([sys.executable, "-m", "archlint.bench.distributed",
                                       *argv], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + timeout_s
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=max(1.0, deadline - time.monotonic())))
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the {world} ranks did not finish within {timeout_s:.0f} s") from None
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for rank, (p, (_, err)) in enumerate(zip(procs, outs, strict=True)):
        if p.returncode:
            raise RuntimeError(f"rank {rank} failed: {err.strip().splitlines()[-1:]}")
    result: dict[str, Any] = json.loads(outs[0][0].strip().splitlines()[-1])
    return result


def _rel(out: Any, ref: Any) -> float:
    return float((out.double() - ref.double()).norm() / ref.double().norm())


def worker(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    import torch.distributed as dist

    from archlint.analysis.profile import Options
    from archlint.api import analyze
    from archlint.bench.layer import BenchLayer
    from archlint.bench.timing import time_fn
    from archlint.source import SourceOptions

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    on_gpu = torch.cuda.is_available() and torch.cuda.device_count() >= world
    device = f"cuda:{local}" if on_gpu else "cpu"
    if on_gpu:
        torch.cuda.set_device(local)
    import datetime

    dist.init_process_group("nccl" if on_gpu else "gloo",
                            timeout=datetime.timedelta(seconds=LAUNCH_TIMEOUT_S))
    analysis = analyze(args.model, Options(context=args.context, batch=args.batch),
                       SourceOptions(offline=args.offline))
    layer = BenchLayer(analysis.spec, args.layer, dtype=args.dtype, device=device, seed=0,
                       config=analysis.checkpoint.config)
    out: dict[str, Any] = {"model": analysis.checkpoint.model_id, "layer": args.layer,
                           "world": world, "backend": dist.get_backend(), "device": device,
                           "mode": "tp" if args.tp > 1 else "ep", "ranks": []}
    x = layer.random_input(args.batch, args.context)
    xn = layer.norm("ln1", x.reshape(-1, layer.C), layer._ops["torch"])
    res: dict[str, Any] = {"rank": rank}
    with torch.no_grad():
        if args.tp > 1:
            m = layer.mixer
            if not hasattr(m, "G") or getattr(m, "cross", False) or getattr(m, "shared", False):
                raise SystemExit("--tp shards standard self-attention layers")
            h, g, d, dv = m.H, m.G, m.D, m.Dv
            qkv = layer.w["qkv"]
            wq, wk = qkv[: h * d], qkv[h * d : h * d + g * d]
            wv = qkv[h * d + g * d : h * d + g * d + g * dv]
            x3 = xn.view(args.batch, args.context, -1)
            got = tp_attention(x3, wq, wk, wv, layer.w["o"], h, g, rank, world,
                               scale=m.rotary.sm_scale)
            ref = tp_attention(x3, wq, wk, wv, layer.w["o"], h, g, 0, 1,
                               scale=m.rotary.sm_scale, reduce=False)
            res["attention_rel_err"] = _rel(got, ref)
            sh = attention_shard(h, g, world, rank)
            res["attention_heads"] = {"q": list(sh.q_heads), "kv": list(sh.kv_heads)}
            if "w13" in layer.w:
                got = tp_dense_ffn(xn, layer.w["w13"], layer.w["w2"], rank, world)
                ref = tp_dense_ffn(xn, layer.w["w13"], layer.w["w2"], 0, 1, reduce=False)
                res["ffn_rel_err"] = _rel(got, ref)
                res["ffn_columns"] = list(ffn_shard(layer.w["w2"].shape[1], world, rank))
            t = time_fn(lambda: tp_attention(x3, wq, wk, wv, layer.w["o"], h, g, rank, world,
                                             scale=m.rotary.sm_scale), [()], min_runs=5)
            res["attention_s"] = t.median_s
            buf = torch.empty_like(xn)
            t = time_fn(lambda: dist.all_reduce(buf), [()], min_runs=10)
            nbytes = buf.numel() * buf.element_size()
            res["all_reduce_s"] = t.median_s
            res["all_reduce_bus_gb_per_s"] = 2 * (world - 1) / world * nbytes / t.median_s / 1e9
        else:
            if not layer.moe:
                raise SystemExit("--ep shards MoE layers")
            w, ids = layer.ffn.route(xn)
            t_all = xn.shape[0]
            lo, hi = rank * t_all // world, (rank + 1) * t_all // world
            w13, w2 = layer.w["experts_w13"], layer.w["experts_w2"]
            got = ep_moe(xn[lo:hi], w[lo:hi], ids[lo:hi], w13, w2, rank, world)
            from archlint.bench.kernelmods import kernel_module

            ref = kernel_module("reference").moe_ref(xn[lo:hi], w13, w2, w[lo:hi], ids[lo:hi])
            res["moe_rel_err"] = _rel(got, ref)
            t = time_fn(lambda: ep_moe(xn[lo:hi], w[lo:hi], ids[lo:hi], w13, w2, rank, world),
                        [()], min_runs=5)
            res["moe_s"] = t.median_s
        res["weight_bytes_held"] = _held_bytes(layer, args, rank, world)
    gathered: list[Any] = [None] * world
    dist.all_gather_object(gathered, res)
    out["ranks"] = gathered
    dist.destroy_process_group()
    return out


def _held_bytes(layer: Any, args: argparse.Namespace, rank: int, world: int) -> int:
    """Bytes of the weights this rank's shard reads (what a sharded loader would keep)."""
    elem = layer.w["o"].element_size() if "o" in layer.w else 2
    if args.tp > 1:
        m = layer.mixer
        sh = attention_shard(m.H, m.G, world, rank)
        hq = sh.q_heads[1] - sh.q_heads[0]
        g = sh.kv_heads[1] - sh.kv_heads[0]
        n = layer.C * (hq * m.D + g * (m.D + m.Dv)) + hq * m.Dv * layer.C
        if "w13" in layer.w:
            f = layer.w["w2"].shape[1] // world
            n += 3 * layer.C * f
        return int(n * elem)
    per = layer.ffn.E // world
    return int(per * 3 * layer.C * layer.ffn.F * elem)


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m archlint.bench.distributed")
    ap.add_argument("model")
    ap.add_argument("--layer", type=int, default=0)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--dtype", default="bf16")
    ap.add_argument("--tp", type=int, default=1)
    ap.add_argument("--ep", type=int, default=1)
    ap.add_argument("--offline", action="store_true")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    os.environ.update(multicast_off_env({}))  # this process too, before any NCCL init
    result = worker(args)
    if int(os.environ["RANK"]) == 0:
        print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
