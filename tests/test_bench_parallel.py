"""Tensor- and expert-parallel sharding of a layer (issue 18, the part CPUs can check): the
plan against hand calculations, and the sharded layer over torch.distributed's gloo backend in
two processes against the unsharded reference."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from archlint.bench.parallel import (
    MULTICAST_OFF,
    attention_shard,
    dispatch_counts,
    expert_shard,
    ffn_shard,
    multicast_off_env,
    shard_bytes_tp,
)


def test_attention_shards_split_heads_and_replicate_kv():
    # Llama-3.1-8B (32 query heads, 8 KV heads) at tp=2: 16 query and 4 KV heads per rank
    assert attention_shard(32, 8, 2, 0).q_heads == (0, 16)
    assert attention_shard(32, 8, 2, 1).kv_heads == (4, 8)
    # tp=16 > 8 KV heads: each KV head on 2 ranks; rank 5's query heads 10, 11 read KV head 2
    s = attention_shard(32, 8, 16, 5)
    assert s.q_heads == (10, 12) and s.kv_heads == (2, 3)
    with pytest.raises(ValueError):
        attention_shard(32, 8, 3, 0)


def test_ffn_and_expert_shards():
    assert ffn_shard(14336, 2, 1) == (7168, 14336)
    assert expert_shard(256, 8, 3) == (96, 128)  # DeepSeek-V3 at EP 8: 32 experts a rank


def test_tp_shard_bytes_by_hand():
    """Llama-3.1-8B layer at tp=2, bf16: q 16·128 and k, v 4·128 rows of 4096 → 4096·3072;
    o 2048·4096; FFN 7168 columns × 3 matrices × 4096 = 88,080,384; total 109,051,904
    elements = 218,103,808 bytes."""
    assert shard_bytes_tp(32, 8, 128, 128, 4096, 14336, 2, 2) == 218_103_808


def test_dispatch_counts_by_hand():
    # 4 tokens, top-2, 4 experts over 2 ranks: tokens 0-1 on rank 0, 2-3 on rank 1;
    # experts 0-1 on rank 0, 2-3 on rank 1
    ids = [[0, 3], [1, 2], [2, 3], [0, 1]]
    assert dispatch_counts(ids, 4, 2) == [[2, 2], [2, 2]]
    assert dispatch_counts([[0, 1], [0, 1], [2, 3], [0, 0]], 4, 2) == [[4, 0], [2, 2]]


def test_multicast_stays_off_in_worker_environments():
    env = multicast_off_env({"NCCL_NVLS_ENABLE": "1", "PATH": "/bin"})
    assert env["PATH"] == "/bin" and all(env[k] == v for k, v in MULTICAST_OFF.items())


_WORKER = r"""
import json, os, sys
import torch
import torch.distributed as dist
import torch.nn.functional as F
sys.path.insert(0, os.getcwd())
from archlint.bench.parallel import ep_moe, expert_shard, tp_attention, tp_dense_ffn

rank, world, init, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
torch.manual_seed(0)  # the same full weights and inputs on every rank
b, n, c, f, h, g, d = 2, 10, 32, 48, 4, 2, 8
x = torch.randn(b, n, c)
w13, w2 = torch.randn(2 * f, c) / c**0.5, torch.randn(c, f) / f**0.5
wq, wk, wv = (torch.randn(m * d, c) / c**0.5 for m in (h, g, g))
wo = torch.randn(c, h * d) / (h * d) ** 0.5
res = {}
# dense FFN, tensor-parallel
ref = F.linear(F.silu(F.linear(x, w13[:f])) * F.linear(x, w13[f:]), w2)
got = tp_dense_ffn(x, w13, w2, rank, world)
res["ffn"] = float((got - ref).norm() / ref.norm())
# attention (GQA), tensor-parallel
q = F.linear(x, wq).view(b, n, h, d).transpose(1, 2)
k = F.linear(x, wk).view(b, n, g, d).transpose(1, 2)
v = F.linear(x, wv).view(b, n, g, d).transpose(1, 2)
o = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=d**-0.5, enable_gqa=True)
ref = F.linear(o.transpose(1, 2).reshape(b, n, h * d), wo)
got = tp_attention(x, wq, wk, wv, wo, h, g, rank, world, scale=d**-0.5)
res["attention"] = float((got - ref).norm() / ref.norm())
# MoE, expert-parallel: 8 experts top-2, tokens split over the ranks
e, kk, t = 8, 2, 12
xt = torch.randn(t, c)
ew13, ew2 = torch.randn(e, 2 * f, c) / c**0.5, torch.randn(e, c, f) / f**0.5
w, ids = torch.softmax(torch.randn(t, e), -1).topk(kk, -1)
w = w / w.sum(-1, keepdim=True)
ref = torch.zeros(t, c)
for ti in range(t):
    for j in range(kk):
        ex = int(ids[ti, j])
        gu = F.linear(xt[ti], ew13[ex])
        ref[ti] += w[ti, j] * F.linear(F.silu(gu[:f]) * gu[f:], ew2[ex])
lo, hi = rank * t // world, (rank + 1) * t // world
got = ep_moe(xt[lo:hi], w[lo:hi], ids[lo:hi], ew13, ew2, rank, world)
res["moe"] = float((got - ref[lo:hi]).norm() / ref[lo:hi].norm())
res["experts"] = list(expert_shard(e, world, rank))
json.dump(res, open(f"{out}.{rank}", "w"))
dist.destroy_process_group()
"""


def test_sharded_layer_equals_unsharded_over_gloo(tmp_path):
    """Two processes (gloo, the CPU backend of torch.distributed): the tensor-parallel FFN and
    attention (one all-reduce each) and the expert-parallel MoE (all-to-all dispatch and
    combine) give the unsharded outputs to fp32 rounding."""
    import subprocess

    pytest.importorskip("torch")
    root = Path(__file__).resolve().parents[1]
    init = f"file://{tmp_path / 'pg'}"
    out = tmp_path / "res"
    env = multicast_off_env()
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(r), "2", init, str(out)],
                              cwd=root, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for r in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-3000:]
    for r in range(2):
        res = json.loads((tmp_path / f"res.{r}").read_text())
        assert res["ffn"] < 1e-5 and res["attention"] < 1e-5 and res["moe"] < 1e-5, res
        assert res["experts"] == [4 * r, 4 * r + 4]


def test_bench_cli_tp_over_gloo():
    """`archlint bench llama3.2 --tp 2` on CPUs: two worker processes started by the command
    (RANK/WORLD_SIZE/MASTER_* as torchrun sets them), gloo; each rank holds 16 of Llama-3.2-1B's
    32 query heads, 4 of its 8 KV heads and 4096 of its 8192 FFN columns, and the sharded
    attention and FFN equal the unsharded ones. Weight bytes a rank holds, fp32, by hand:
    2048·(16·64 + 4·128) + 16·64·2048 + 3·2048·4096 = 30,408,704 elements · 4 B."""
    pytest.importorskip("torch")
    from click.testing import CliRunner

    from archlint.bench.cli import bench_command

    r = CliRunner().invoke(bench_command, ["llama3.2", "--offline", "--tp", "2", "--batch", "1",
                                           "--context", "16", "--dtype", "fp32"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["world"] == 2 and doc["backend"] == "gloo"
    for rank, res in enumerate(doc["ranks"]):
        assert res["attention_heads"] == {"q": [16 * rank, 16 * rank + 16],
                                          "kv": [4 * rank, 4 * rank + 4]}
        assert res["ffn_columns"] == [4096 * rank, 4096 * rank + 4096]
        assert res["attention_rel_err"] < 1e-5 and res["ffn_rel_err"] < 1e-5, res
        assert res["weight_bytes_held"] == 30_408_704 * 4
