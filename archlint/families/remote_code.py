"""Families whose modeling code lives only in their Hub repos (`trust_remote_code`, an
`auto_map` naming the repo's own `modeling_*.py`): transformers has no class for them, so
what the code builds is written down here from that code, and what a config cannot say
(Baichuan's positions) is reported in the coverage instead of guessed.

Families whose remote code builds exactly the Llama block from standard keys (XVERSE,
InternLM2, EXAONE-3 with its `num_layers` / `activation_function`, MiniCPM, Yi, Skywork) need
no entry: the generic reader counts them, marked best-effort.
"""

from __future__ import annotations

from typing import Any, ClassVar

from archlint.families.base import Adapter, classify_heads, from_remote_code
from archlint.families.dialects import GPT2, Llama
from archlint.spec import (
    AttentionSpec,
    Coverage,
    FFNSpec,
    FieldSource,
    ModelSpec,
    Positional,
)


def kv_channels_head(adapter: Adapter, spec: AttentionSpec) -> AttentionSpec:
    """The head width Megatron-derived remote code names `kv_channels` (Qwen-1, ChatGLM2/3,
    GLM-4's own dialect: each head of q, k and v is kv_channels wide)."""
    prov = dict(spec.provenance)
    width = adapter.read_int("head_dim", "kv_channels", prov=prov)
    if not width:
        return spec
    return spec.model_copy(update={"head_dim": width, "v_head_dim": width, "provenance": prov})


class QwenV1(Adapter):
    """Qwen-1 (`qwen`, Qwen/Qwen-7B's `modeling_qwen.py`; Bai et al. 2023, arXiv:2309.16609):
    per QWenBlock an RMSNorm `ln_1`, a fused `c_attn` h → 3 × heads × `kv_channels` that always
    has a bias, `c_proj` back to h (biased unless `no_bias`), an RMSNorm `ln_2` and a SwiGLU MLP
    whose `w1`, `w2` (h → `intermediate_size` / 2) and `c_proj` (`intermediate_size` / 2 → h)
    are biased unless `no_bias`: the config's intermediate_size is twice the MLP's width.
    Multi-head attention (no KV-head key); `wte` and `lm_head` are separate matrices."""

    name = "qwen_v1"
    model_types: ClassVar[tuple[str, ...]] = ("qwen",)
    tie_default = False

    def _bias(self, prov: dict[str, FieldSource] | None = None) -> bool:
        return not self.read("no_bias", "no_bias", default=True, prov=prov)

    def qkv_bias(self) -> bool:
        self.prov["qkv_bias"] = from_remote_code(
            "modeling_qwen.py", "c_attn = nn.Linear(..., bias=True)"
        )
        return True

    def o_bias(self) -> bool:
        return self._bias()

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        return kv_channels_head(self, super().attention(index, layer_type))

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        prov = dict(spec.provenance)
        width = self.derive(
            "intermediate_size",
            spec.intermediate_size // 2,
            "modeling_qwen.py QWenMLP: w1, w2 are h → intermediate_size // 2",
            prov,
        )
        return spec.model_copy(
            update={
                "gated": True,
                "activation": spec.activation or "silu",
                "intermediate_size": width,
                "bias": self._bias(prov),
                "provenance": prov,
            }
        )


class Orion(Llama):
    """Orion-14B (`orion`, OrionStarAI's `modeling_orion.py`): the Llama block with
    `nn.LayerNorm` (weight and bias, eps `rms_norm_eps`) for both block norms and the final
    norm, though the config names its epsilon `rms_norm_eps`."""

    name = "orion"
    model_types: ClassVar[tuple[str, ...]] = ("orion",)

    def norm_kind(self) -> str:
        self.prov["norm"] = from_remote_code("modeling_orion.py", "nn.LayerNorm, not RMSNorm")
        return "layernorm"

    def norm_bias(self) -> bool:
        return True


class Baichuan(Llama):
    """Baichuan 1/2 (`baichuan`, baichuan-inc's `modeling_baichuan.py`): the Llama block with a
    fused `W_pack` (3 × h outputs, no bias) and no KV-head key (multi-head attention);
    Baichuan 2's NormHead normalises the head's rows at run time (same one matrix).
    Where the positions come from is in the modeling file alone: the 7B repos' code applies
    RoPE, the 13B repos' code ALiBi, with nothing in config.json to tell them apart. The
    parameters and KV cache do not depend on it; the coverage says the positions are assumed."""

    name = "baichuan"
    model_types: ClassVar[tuple[str, ...]] = ("baichuan",)

    def positional(self, index: int) -> Positional:
        self.prov["positional"] = from_remote_code(
            "modeling_baichuan.py", "RoPE in the 7B code, ALiBi in the 13B code; not in the config"
        )
        return "rope"

    def coverage(self, spec: ModelSpec) -> Coverage:
        cov = super().coverage(spec)
        return cov.with_item(
            part="positions",
            how="assumed",
            detail="read as RoPE: Baichuan's 13B modeling code uses ALiBi instead and the "
            "config does not say which (parameters and KV cache are the same either way)",
        )


class InternLM(Llama):
    """InternLM (`internlm`, internlm's `modeling_internlm.py`): the Llama block whose q/k/v/o
    projections are biased with `bias` while the MLP never is. Early InternLM2 revisions
    (InternLM2ForCausalLM) also saved model_type `internlm`; their `bias` is false, which reads
    the same."""

    name = "internlm"
    model_types: ClassVar[tuple[str, ...]] = ("internlm",)

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        prov = {**spec.provenance, "ffn_bias": from_remote_code(
            "modeling_internlm.py", "gate/up/down_proj bias=False whatever `bias` says")}
        return spec.model_copy(update={"bias": False, "provenance": prov})


def _per_layer(adapter: Adapter, key: str, index: int) -> Any:
    """Entry `index` of a per-layer list key (the key is asked either way)."""
    values = adapter.cv.lookup(key)[0]
    if isinstance(values, list) and index < len(values):
        return values[index]
    return None


class DeciLM(Llama):
    """DeciLM-6B/7B (`deci`, Deci's `modeling_decilm.py`, a Llama whose attention reads
    `num_key_value_heads_per_layer[i]` KV heads in layer i: variable GQA)."""

    name = "decilm"
    model_types: ClassVar[tuple[str, ...]] = ("deci",)

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), self._kv(index))

    def _kv(self, index: int) -> int | None:
        value = _per_layer(self, "num_key_value_heads_per_layer", index)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        kv = self._kv(index)
        if kv is None or kv < 1 or spec.num_heads % kv:
            return spec
        prov = {**spec.provenance, "num_kv_heads": self.declared(
            f"num_key_value_heads_per_layer.{index}")}
        return spec.model_copy(update={"num_kv_heads": kv, "provenance": prov})


class Jais(GPT2):
    """JAIS (`jais`, core42's `modeling_jais.py`, a GPT-2 derivative; Sengupta et al. 2023,
    arXiv:2308.16149): GPT-2's block (LayerNorm with bias, biased Conv1D `c_attn` / `c_proj`)
    with a SwiGLU MLP when `activation_function` is "swiglu" (`c_fc`, `c_fc2` h → n_inner and
    `c_proj` back, all biased) and ALiBi in place of the `wpe` table when
    `position_embedding_type` is "alibi" (no position parameters). The muP scales
    (`mup_*`) multiply activations and add no parameters."""

    name = "jais"
    model_types: ClassVar[tuple[str, ...]] = ("jais",)

    def positional(self, index: int) -> Positional:
        kind = self.read("positional", "position_embedding_type", default="learned")
        return "alibi" if kind == "alibi" else "rope" if kind == "rotary" else "learned"

    def gated_ffn(self) -> bool:
        return bool(self.read("activation", "activation_function") == "swiglu")


def make_divisible(value: float, divisor: int) -> int:
    """OpenELM's rounding of a layer's width (`configuration_openelm.make_divisible`, from
    MobileNet's TF code): to the nearest multiple of `divisor`, at least `divisor`, and never
    more than 10 % below `value`."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class OpenELM(Adapter):
    """OpenELM (`openelm`, apple/OpenELM's `modeling_openelm.py`; Mehta et al. 2024,
    arXiv:2404.14619): layer-wise scaling. Layer i has `num_query_heads[i]` query and
    `num_kv_heads[i]` KV heads of `head_dim`, a fused bias-free `qkv_proj`, per-head RMSNorms
    on q and k with `normalize_qk_projections`, and `out_proj` back to `model_dim`; its FFN
    width is `make_divisible(ffn_multipliers[i] × model_dim, ffn_dim_divisor)`, `proj_1` to
    twice that with `ffn_with_glu` (else once), `proj_2` back, no biases. RMSNorm before each
    sub-block and at the end; `share_input_output_layers` ties the head to the embedding."""

    name = "openelm"
    model_types: ClassVar[tuple[str, ...]] = ("openelm",)

    def hidden_size(self) -> int:
        return self.read_int("hidden_size", "model_dim", "hidden_size") or 0

    def num_layers(self) -> int:
        return self.read_int("num_layers", "num_transformer_layers", "num_hidden_layers") or 0

    def own_tie(self) -> bool:
        return bool(self.read("tie_word_embeddings", "share_input_output_layers", default=True))

    def max_positions(self) -> int | None:
        return self.read_int("max_position_embeddings", "max_context_length")

    def rope_theta(self) -> float | None:
        value = self.read("rope_theta", "rope_freq_constant", default=10000)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if number else None

    def qk_norm(self) -> bool:
        return bool(self.read("qk_norm", "normalize_qk_projections", default=False))

    def qkv_bias(self) -> bool:
        return False

    def gated_ffn(self) -> bool:
        return bool(self.read("gated_ffn", "ffn_with_glu", default=True))

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), *self._heads(index), self._width(index))

    def _heads(self, index: int) -> tuple[int | None, int | None]:
        # the lists are what OpenELMConfig computed from these two and saved beside them
        self.cv.asked.update(("qkv_multipliers", "num_gqa_groups"))
        q = _per_layer(self, "num_query_heads", index)
        kv = _per_layer(self, "num_kv_heads", index)
        return (q if isinstance(q, int) else None, kv if isinstance(kv, int) else None)

    def _width(self, index: int) -> int | None:
        table = self.cv.lookup("ffn_multipliers")[0]
        multiplier = _per_layer(self, "ffn_multipliers", index) if isinstance(table, list) \
            else table
        divisor = self.read_int("ffn_dim_divisor", "ffn_dim_divisor", default=256) or 256
        if not isinstance(multiplier, (int, float)) or isinstance(multiplier, bool):
            return None
        return make_divisible(float(multiplier) * self.hidden_size(), divisor)

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        prov: dict[str, FieldSource] = {}
        heads, kv = self._heads(index)
        head_dim = self.read_int("head_dim", "head_dim", prov=prov) or 0
        spec = super().attention(index, layer_type)
        if heads is None or kv is None or kv < 1 or heads % kv:
            return spec
        prov["num_heads"] = self.declared(f"num_query_heads.{index}")
        prov["num_kv_heads"] = self.declared(f"num_kv_heads.{index}")
        return spec.model_copy(update={
            "kind": classify_heads(heads, kv),
            "num_heads": heads, "num_kv_heads": kv, "head_dim": head_dim,
            "v_head_dim": head_dim, "o_bias": False,
            "provenance": {**spec.provenance, **prov},
        })

    def kv_heads(self, heads: int, prov: dict[str, FieldSource]) -> int:
        return heads  # the per-layer lists are read in `attention`

    def coverage(self, spec: ModelSpec) -> Coverage:
        cov = super().coverage(spec)
        missing = [f"layer {layer.index}" for layer in spec.layers
                   if layer.attention.num_heads == 0 or self._width(layer.index) is None]
        if not missing:
            return cov
        return cov.with_item(
            part=", ".join(missing[:6]) + (", …" if len(missing) > 6 else ""),
            how="not_understood",
            detail="no num_query_heads / num_kv_heads / ffn_multipliers entry for the layer: "
            "its attention or FFN is not counted",
        )

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        width = self._width(index)
        prov = {**spec.provenance, "intermediate_size": FieldSource(
            kind="derived", key=f"ffn_multipliers.{index}",
            detail="make_divisible(ffn_multipliers[i] × model_dim, ffn_dim_divisor)")}
        act = self.read("activation", "activation_fn_name", prov=prov)
        return spec.model_copy(update={
            "intermediate_size": width or spec.intermediate_size, "bias": False,
            "activation": act or spec.activation, "provenance": prov,
        })


REMOTE_CODE_ADAPTERS: tuple[type[Adapter], ...] = (
    QwenV1, Orion, Baichuan, InternLM, DeciLM, OpenELM, Jais,
)
