"""What a GGUF file adds to the profile: its quantization mix (bits per weight overall and by
component, from the ggml type table) and the KV cache as llama.cpp allocates it.

Bits per weight: stored bytes × 8 / logical parameters, summed over tensors (llama.cpp's
`print_info: file size = … (… BPW)` divides the same tensor bytes by the same element count).
"""

from __future__ import annotations

from collections import defaultdict

from archlint.analysis.memory import kv_cache
from archlint.checkpoint import Checkpoint
from archlint.errors import UsageError
from archlint.ggml_types import GGML_BY_NAME, UNQUANTIZED
from archlint.records import Record, described, record
from archlint.spec import AttentionSpec, ModelSpec
from archlint.tensors import tensor_index

#: llama.cpp's defaults (`common.h` / `llama_context_default_params`): K and V cache in f16
#: (`-ctk/-ctv`), micro-batch 512 (`-ub`), one sequence.
LLAMA_CPP_KV_TYPE = "F16"
LLAMA_CPP_UBATCH = 512
#: Cells are padded to 256 with flash attention (on by default, `-fa auto`, where the backend
#: has it), 32 without (llama-kv-cache.cpp, `llama_kv_cache::get_padding`).
LLAMA_CPP_PAD = 256
#: Cache types llama.cpp accepts for -ctk/-ctv (`common/arg.cpp`, kv_cache_types).
LLAMA_CPP_KV_TYPES = ("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "IQ4_NL", "Q5_0", "Q5_1")


@record
class ComponentMix(Record):
    params: int
    bytes: int
    bits_per_weight: float
    types: dict[str, int] = described(description="logical parameters by ggml type")


@record
class QuantMix(Record):
    file_type: str | None = described(description="general.file_type (llama.cpp's llama_ftype)")
    bits_per_weight: float
    by_type: dict[str, int]
    by_component: dict[str, ComponentMix]
    summary: str


def _type_text(types: dict[str, int]) -> str:
    quantized = {t: n for t, n in types.items() if t not in UNQUANTIZED} or types
    ordered = sorted(quantized, key=lambda t: -quantized[t])
    return "+".join(ordered[:3])


_LABELS = {"attention": "attention", "dense_ffn": "FFN", "routed_experts": "experts",
           "shared_experts": "shared experts", "embedding": "embedding", "head": "output"}


def quant_mix(ckpt: Checkpoint) -> QuantMix | None:
    """The quantization mix of a GGUF checkpoint (None for other formats)."""
    index = tensor_index(ckpt)
    if ckpt.weights_format != "gguf" or index is None:
        return None
    params: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    nbytes: dict[str, int] = defaultdict(int)
    by_type: dict[str, int] = defaultdict(int)
    for tensor, role in index.roles():
        count = tensor.numel
        params[role.component][tensor.dtype] += count
        nbytes[role.component] += tensor.nbytes
        by_type[tensor.dtype] += count
    total = sum(by_type.values())
    total_bytes = sum(nbytes.values())
    components = {}
    for component, types in params.items():
        n = sum(types.values())
        components[component] = ComponentMix(
            params=n, bytes=nbytes[component],
            bits_per_weight=round(nbytes[component] * 8 / n, 4) if n else 0.0,
            types=dict(types))
    file_type = (ckpt.gguf or {}).get("file_type")
    bpw = round(total_bytes * 8 / total, 4) if total else 0.0
    parts = [f"{_LABELS[c]} {_type_text(components[c].types)}" for c in _LABELS
             if c in components and components[c].params]
    summary = f"{file_type or 'GGUF'}: {bpw:.2f} bits/weight; " + ", ".join(parts)
    return QuantMix(file_type=file_type, bits_per_weight=bpw, by_type=dict(by_type),
                    by_component=components, summary=summary)


# -- llama.cpp's KV cache --------------------------------------------------------------------


@record
class LlamaCppKV(Record):
    """The KV cache llama.cpp allocates, in its own conventions."""

    runtime: str = "llama.cpp"
    type_k: str
    type_v: str
    context: int
    cells: int = described(description="cells per sequence of the full-attention cache (context "
                       "padded)")
    swa_cells: int | None = described(description="cells per sequence of the sliding-window cache")
    bytes_k: int
    bytes_v: int
    bytes_total: int
    recurrent_state_bytes: int = described(description="recurrent (SSM) state, f32")
    layers_full: int
    layers_swa: int
    layers_recurrent: int
    mla_layout: str | None = None


def check_kv_type(name: str) -> str:
    """A llama.cpp cache type name (`q8_0`) → its ggml name (`Q8_0`); UsageError if unknown."""
    key = name.strip().upper()
    if key not in LLAMA_CPP_KV_TYPES:
        raise UsageError(f"unknown --kv-type {name!r}",
                         hint=", ".join(t.lower() for t in LLAMA_CPP_KV_TYPES))
    return key


def _row_bytes(type_name: str, values: int) -> int:
    gt = GGML_BY_NAME[type_name]
    row = gt.row_bytes(values)
    if row is None:
        raise UsageError(f"--kv-type {type_name}: a row of {values} values is not a whole "
                         f"number of {gt.block_size}-value blocks")
    return row


def _pad(n: int, to: int) -> int:
    return -(-n // to) * to


def _layer_rows(att: AttentionSpec, absorbed_mla: bool) -> tuple[int, int, str | None]:
    """(K values, V values) per cell, and the MLA layout when the layer is MLA."""
    if att.kind == "mla":
        rank, rope = att.kv_lora_rank or 0, att.qk_rope_head_dim or 0
        if absorbed_mla:
            # current converters: one "head" of kv_lora_rank + rope for K and kv_lora_rank
            # for V (key_length / value_length in the file)
            return rank + rope, rank, "absorbed: K = kv_lora_rank + rope, V = kv_lora_rank"
        return (att.num_heads * att.head_dim, att.num_heads * att.v_head_dim,
                "per head (older GGUF without key_length_mla)")
    return att.num_kv_heads * att.head_dim, att.num_kv_heads * att.v_head_dim, None


def llama_cpp_kv(spec: ModelSpec, *, context: int, batch: int = 1, type_k: str = "F16",
                 type_v: str | None = None, absorbed_mla: bool = True,
                 swa_full: bool = False) -> LlamaCppKV:
    """llama.cpp's KV cache for `batch` sequences of `context` tokens each.

    Source: llama.cpp `src/llama-kv-cache.cpp` (each layer holds `ggml_row_size(type_k,
    n_embd_k_gqa)` + `ggml_row_size(type_v, n_embd_v_gqa)` bytes per cell, n_embd_*_gqa =
    head size × KV heads; the context is padded to the cache padding), and
    `src/llama-kv-cache-iswa.cpp`: sliding-window layers get their own cache of
    `min(cells, GGML_PAD(n_swa + n_ubatch, n_pad))` cells per sequence unless `--swa-full`.
    Cells are per sequence (`-np N` with the default non-unified cache: "4096 cells … 2/2
    seqs" is 4096 each), so bytes scale with `batch`. A public llama-server log of a
    1024-window model shows it: "creating SWA KV cache, size = 1536 cells" (1024 + 512; 1280
    at `-ub 256`). Mamba-style layers keep their conv and SSM states in f32, one per
    sequence (`src/llama-memory-recurrent.cpp`), beside the K/V of a layer that runs both
    (Falcon-H1, `llama-memory-hybrid.cpp`). K and V default to f16 (`-ctk/-ctv`);
    quantized types store whole blocks per row. MLA (deepseek2): the file's
    key_length/value_length describe the cache; current converters write the absorbed layout
    (K = kv_lora_rank + rope dims, V = kv_lora_rank, one head), older files the per-head one.
    """
    type_k = check_kv_type(type_k)
    type_v = check_kv_type(type_v or type_k)
    cells = _pad(context, LLAMA_CPP_PAD)  # per sequence
    windows = [layer.attention.window for layer in spec.layers if layer.attention.window]
    swa_cells = None
    if windows:
        swa = max(windows)
        swa_cells = cells if swa_full else min(cells, _pad(swa + LLAMA_CPP_UBATCH, LLAMA_CPP_PAD))
    bytes_k = bytes_v = 0
    full = swa_n = recurrent = 0
    layout = None
    for layer in spec.layers:
        att = layer.attention
        # Falcon-H1: a Mamba-2 mixer beside the attention, both cached (llama.cpp's hybrid
        # memory: every layer recurrent and attending)
        mixer = layer.parallel_mixer
        recurrent += mixer is not None and mixer.kind == "linear"
        if att.kind in ("none", "linear") or att.kv_shared_from is not None:
            recurrent += att.kind == "linear"
            continue
        k, v, mla = _layer_rows(att, absorbed_mla)
        layout = layout or mla
        n = (swa_cells if att.window and swa_cells is not None else cells) * batch
        bytes_k += _row_bytes(type_k, k) * n
        bytes_v += _row_bytes(type_v, v) * n
        if att.window:
            swa_n += 1
        else:
            full += 1
    state = 0
    if recurrent:
        state = kv_cache(spec, dtype="f32", dtype_bytes=4, context=context, batch=batch,
                         state_dtype=("f32", 4)).state_bytes * batch
    return LlamaCppKV(type_k=type_k, type_v=type_v, context=context, cells=cells,
                      swa_cells=swa_cells, bytes_k=bytes_k, bytes_v=bytes_v,
                      bytes_total=bytes_k + bytes_v + state, recurrent_state_bytes=state,
                      layers_full=full, layers_swa=swa_n, layers_recurrent=recurrent,
                      mla_layout=layout)
