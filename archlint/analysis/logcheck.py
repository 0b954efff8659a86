"""Check the serving plan against a recorded vLLM startup (fixtures/vllm_logs/runs.json): give
archlint the run's settings (GPU capacity as the log states it, utilization, TP/PP,
max_model_len, the profiling batch) and compare per-GPU weights, activation peak, KV memory
and KV tokens with the logged figures. Pure: the caller passes the model's Checkpoint and its
ModelSpec (archlint.api.spec_of)."""

from __future__ import annotations

from typing import Any

from archlint.analysis.hardware import GIB, GPU, find_gpu
from archlint.analysis.profile import Options, profile
from archlint.analysis.serving import ServingOptions
from archlint.checkpoint import Checkpoint
from archlint.records import Record, record
from archlint.spec import ModelSpec


@record
class RunCheck(Record):
    id: str
    model: str
    gpu: str
    tp: int
    vllm_version: str
    weights_gib: float | None = None  # predicted, per GPU
    weights_logged_gib: float | None = None
    weights_error: float | None = None  # (predicted - logged) / logged
    activation_gib: float | None = None
    activation_logged_gib: float | None = None
    activation_error: float | None = None
    kv_gib: float | None = None
    kv_logged_gib: float | None = None
    kv_gib_error: float | None = None
    kv_tokens: int | None = None
    kv_tokens_logged: int | None = None
    kv_tokens_error: float | None = None
    request_kv_gib: float | None = None  # KV one request of max_model_len needs per GPU
    request_kv_logged_gib: float | None = None
    request_kv_error: float | None = None
    unmatched: str | None = None
    note: str | None = None


def _gpu(run: dict[str, Any]) -> GPU:
    """The run's GPU: the capacity the log states; else the run's own `capacity_gib` (a GPU the
    table lacks, the figure and its source given in `capacity_why`); else, where the run names a
    GPU of the table (`gpu_table`), that entry's capacity (the driver's figure, which the log did
    not state)."""
    capacity = run["logged"].get("capacity_gib") or run.get("capacity_gib")
    base = find_gpu(run.get("gpu_table") or "H100")
    if capacity:
        return base.model_copy(update={"name": run["gpu"], "memory_bytes": int(capacity * GIB)})
    return base.model_copy(update={"name": run["gpu"]})


def check_run(run: dict[str, Any], ckpt: Checkpoint, spec: ModelSpec) -> RunCheck:
    logged = run["logged"]
    serving = ServingOptions(
        tp=run.get("tp") or 1,
        pp=run.get("pp") or 1,
        gpu_memory_utilization=run.get("gpu_memory_utilization") or 0.9,
        max_num_batched_tokens=run.get("max_num_batched_tokens"),
        block_size=logged.get("block_size", 16),
        max_num_seqs=run.get("max_num_seqs"),
        engine="v0" if run.get("accounting") == "v0" else "v1",
        sampler="flashinfer" if run.get("sampler") == "flashinfer" else "torch",
    )
    context = run.get("max_model_len") or 8192
    prof = profile(spec, ckpt, Options(context=context, gpu=_gpu(run), serving=serving))
    plan = prof.serving
    assert plan is not None
    out = RunCheck(id=run["id"], model=run["model"], gpu=run["gpu"], tp=serving.tp,
                   vllm_version=run.get("vllm_version", ""), unmatched=run.get("unmatched"),
                   note=run.get("note"))

    def err(got: float, want: float) -> float:
        return (got - want) / want

    if "request_kv_gib" in logged:
        out.request_kv_gib = plan.kv_bytes_per_request / GIB
        out.request_kv_logged_gib = logged["request_kv_gib"]
        out.request_kv_error = err(out.request_kv_gib, logged["request_kv_gib"])
    out.weights_gib = plan.weights_bytes / GIB
    if "weights_gib" in logged:
        out.weights_logged_gib = logged["weights_gib"]
        out.weights_error = err(out.weights_gib, logged["weights_gib"])
    if "activation_gib" in logged and (not out.unmatched or run.get("max_num_seqs")):
        # an unmatched run whose profiling batch is stated (tokens and sequences) still
        # compares its logged peak, even when the KV figures are missing from the excerpt
        out.activation_gib = plan.activation_peak_bytes / GIB
        out.activation_logged_gib = logged["activation_gib"]
        out.activation_error = err(out.activation_gib, logged["activation_gib"])
    if out.unmatched:
        return out
    out.activation_gib = plan.activation_peak_bytes / GIB
    out.kv_gib = plan.kv_memory_bytes / GIB
    out.kv_logged_gib = logged.get("kv_gib")
    if out.kv_logged_gib:
        out.kv_gib_error = err(out.kv_gib, out.kv_logged_gib)
    out.kv_tokens = plan.kv_tokens
    if "kv_tokens" in logged:
        out.kv_tokens_logged = logged["kv_tokens"]
        out.kv_tokens_error = err(plan.kv_tokens, logged["kv_tokens"])
    return out
