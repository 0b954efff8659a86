"""MoE decoders whose attention or router carries modules no config key states (transformers
5.23, `modeling_<model_type>.py` of each): the generic reader (standard keys, the layer and
MoE patterns of `moe_layers`, transformers' structure facts) plus what that file builds.

Each class states only what differs, each fact recorded as a default naming its source.
"""

from __future__ import annotations

from typing import ClassVar

from archlint.families import Generic, GenericMLA, mtp
from archlint.families.base import classify_heads, from_modeling
from archlint.spec import AttentionSpec, FFNSpec, FieldSource, LayerSpec, ModelSpec, Positional


class _GenericMoE(Generic):
    """Generic with the family marked known: what its modeling adds is stated below."""

    known = True
    #: the MoE router holds a learned per-expert bias (e_score_correction_bias / expert_bias
    #: parameter, saved with the weights)
    router_bias_param: str | None = None

    def _type(self) -> str:
        return str(self.cv.lookup("model_type")[0])

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind != "moe" or self.router_bias_param is None:
            return spec
        spec.provenance["router_bias"] = from_modeling(self._type(), self.router_bias_param)
        return spec.model_copy(update={"router_bias": True})


class Afmoe(_GenericMoE):
    """AFMoE (`modeling_afmoe`): attention output gated by gate_proj (h → heads × head_dim,
    sigmoid), per-head q/k RMSNorms, four norms per block; the MoE block's `expert_bias`
    (one per expert) biases expert selection."""

    name = "afmoe"
    model_types: ClassVar[tuple[str, ...]] = ("afmoe",)
    router_bias_param = "expert_bias"

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        spec.provenance["output_gate"] = from_modeling("afmoe", "self_attn.gate_proj")
        return spec.model_copy(update={"output_gate": True})


class Beam(_GenericMoE):
    """Beam (`modeling_beam`): attention output gated by gate_proj (h → heads × head_dim)
    plus a learned `gate_bias` per head."""

    name = "beam"
    model_types: ClassVar[tuple[str, ...]] = ("beam",)

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        spec.provenance["output_gate"] = from_modeling("beam", "self_attn.gate_proj + gate_bias")
        return spec.model_copy(update={"output_gate": True})

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        # gate_bias, one per head: beyond the attention formulas, so the block's extra
        return spec.model_copy(update={"extra_params": spec.attention.num_heads})


class Laguna(_GenericMoE):
    """Laguna (`modeling_laguna`): heads per layer from `num_attention_heads_per_layer`;
    `gating` adds g_proj, one softplus gate per head (True / "per-head") or per element;
    the router's `e_score_correction_bias` is a parameter."""

    name = "laguna"
    model_types: ClassVar[tuple[str, ...]] = ("laguna",)
    router_bias_param = "e_score_correction_bias"

    def _heads(self, index: int) -> int | None:
        per_layer = self.cv.lookup("num_attention_heads_per_layer")[0]
        if isinstance(per_layer, list) and index < len(per_layer):
            value = per_layer[index]
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        return None

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), self._heads(index))

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        update: dict[str, object] = {}
        heads = self._heads(index)
        if heads:
            spec.provenance["num_heads"] = self.declared("num_attention_heads_per_layer")
            update["num_heads"] = heads
        if self._gate() == "element":
            update["output_gate"] = True
        return spec.model_copy(update=update)

    def _gate(self) -> str | None:
        gating = self.read("gating", "gating")
        if not gating:
            return None
        return "head" if gating is True or gating == "per-head" else "element"

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        if self._gate() != "head":
            return spec
        # g_proj h → heads (one softplus gate per head): not the per-element output gate the
        # attention formulas know, so the block's extra parameters
        return spec.model_copy(
            update={"extra_params": self.hidden_size() * spec.attention.num_heads}
        )


class Step3p5(Laguna):
    """Step-3.5/3.7's language model (`modeling_step3p7`, text config type `step3p5`):
    Laguna's g_proj gate with `gating` True by default (a class attribute of
    Step3p7TextConfig, so no saved key states it), per-head q/k RMSNorms on every layer, and
    in each sparse block one shared expert of width `share_expert_dim` (Step3p7MLP with
    is_shared_expert). Heads per layer come from `per_layer_config` (per_layer.py)."""

    name = "step3p5"
    model_types: ClassVar[tuple[str, ...]] = ("step3p5",)
    router_bias_param = None

    def _heads(self, index: int) -> int | None:
        # a saved config carries per_layer_config (per_layer.py applies it); without it,
        # Step3p7TextConfig builds it: num_sliding_attention_heads on every sliding layer
        if self.cv.lookup("per_layer_config")[0]:
            return None
        types = self.cv.lookup("layer_types")[0]
        if not (isinstance(types, list) and index < len(types)):
            return None
        if types[index] != "sliding_attention":
            return None
        heads = self.cv.lookup("num_sliding_attention_heads")[0]
        return heads if isinstance(heads, int) and not isinstance(heads, bool) else None

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        if self._heads(index):
            spec.provenance["num_heads"] = self.declared("num_sliding_attention_heads")
        return spec

    def _gate(self) -> str | None:
        # g_proj is always built: one gate per head when gating is True / "per-head", else
        # one per element (Step3p7Attention)
        gating = self.read(
            "gating", "gating", default=True,
            why="transformers Step3p7TextConfig: gating = True (class attribute)",
        )
        return "head" if gating is True or gating == "per-head" else "element"

    def qk_norm(self) -> bool:
        self.prov["qk_norm"] = from_modeling("step3p7", "self_attn.q_norm / k_norm on every layer")
        return True

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind != "moe" or spec.num_shared_experts:
            return spec
        width = self.read_int("shared_intermediate_size", "share_expert_dim")
        if not width:
            return spec
        spec.provenance["num_shared_experts"] = from_modeling(
            "step3p7", "mlp.shared_experts: one Step3p7MLP of share_expert_dim"
        )
        return spec.model_copy(
            update={"num_shared_experts": 1, "shared_intermediate_size": width}
        )

    def mtp_layers(self) -> list[LayerSpec]:
        """`num_nextn_predict_layers` depths at model.layers.{45..}: transformers' MTP form
        with each depth's own head (`transformer.shared_head.output`, vocab × h) stored too;
        dense unless `moe_layers_enum` routes them (Step3p7TextConfig's default MoE layers are
        3 … num_hidden_layers - 1)."""
        return mtp.modules(self, copies=self.vocab_size() * self.hidden_size(), routed=False)


class MiMoV2Flash(_GenericMoE):
    """MiMo-V2-Flash (`modeling_mimo_v2_flash`): sliding-window layers have twice
    `num_key_value_heads` and a learned sink per head; full layers neither."""

    name = "mimo_v2_flash"
    model_types: ClassVar[tuple[str, ...]] = ("mimo_v2_flash",)

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        if layer_type != "sliding":
            return spec
        spec.provenance["num_kv_heads"] = from_modeling(
            "mimo_v2_flash", "sliding layers: 2 × num_key_value_heads, sinks"
        )
        kv = 2 * spec.num_kv_heads
        return spec.model_copy(
            update={"num_kv_heads": kv, "sinks": True, "kind": classify_heads(spec.num_heads, kv)}
        )

    def mtp_layers(self) -> list[LayerSpec]:
        """MiMo-V2-Flash's MTP layers (model.mtp.layers.N in model_mtp.safetensors: three,
        which its config does not count, so read only where a config declares
        `num_nextn_predict_layers`): transformers' MTP form (enorm, hnorm, eh_proj,
        final_layernorm) around a sliding layer (qkv 14,848 × 4,096 and a sink per head)
        with the dense MLP (16,384 wide)."""
        return mtp.modules(self, layer_type="sliding", routed=False)



def hyper_connection_params(streams: int, hidden: int, comb: bool) -> int:
    """One hyper-connection (arXiv 2409.19606; the DeepSeek-V4 form of transformers'
    `DeepseekV4HyperConnection`): `fn` maps the N concatenated streams (N × h) to the pre and
    post mixing weights (2N rows) and, with `comb`, the N × N stream mixing too; `base` is
    one bias per row, `scale` one per output group (pre, post, comb)."""
    rows = (2 + streams) * streams if comb else 2 * streams
    return rows * streams * hidden + rows + (3 if comb else 2)


def hyper_head_params(streams: int, hidden: int) -> int:
    """The final stream collapse (`HyperHead`): hc_fn (N × N·h), hc_base (N), hc_scale."""
    return streams * streams * hidden + streams + 1


class HyV4(GenericMLA):
    """Hunyuan-V4 (`modeling_hy_v4`): DeepSeek-V3.2's MLA + DSA (indexers shared per
    `indexer_types`) with an output gate (gate_proj: h → heads × v_head_dim) and a learned
    sink per head, and `hc_mult` hyper-connection streams: two hyper-connections per block
    without the stream-mixing `comb` output (HYV4HyperConnection), a HyperHead before the
    final norm."""

    name = "hy_v4"
    model_types: ClassVar[tuple[str, ...]] = ("hy_v4",)
    known = True

    def _streams(self) -> int:
        return self.read_int("hc_mult", "hc_mult") or 0

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        att, hidden = spec.attention, self.hidden_size()
        extra = hidden * att.num_heads * att.v_head_dim + att.num_heads  # gate_proj, sinks
        if self._streams() > 1:
            extra += 2 * hyper_connection_params(self._streams(), hidden, comb=False)
        spec.attention.provenance["output_gate"] = from_modeling("hy_v4", "gate_proj, sinks")
        return spec.model_copy(update={"extra_params": extra})

    def build(self) -> ModelSpec:
        spec = super().build()
        if self._streams() <= 1:
            return spec
        head = hyper_head_params(self._streams(), self.hidden_size())
        return spec.model_copy(
            update={"extra_params": {**spec.extra_params, "other": head}}
        )


class AXK2(GenericMLA):
    """A.X K2 (`modeling_axk2`): DeepSeek-V3.2's MLA + DSA, with q and an output gate from
    one fused q_gate_proj (2·q_lora_rank → heads × (qk_head_dim + v_head_dim)) reading the
    normed q latent beside the raw one, in place of q_b_proj; gated RMSNorms (an RMSNorm
    times a sigmoid of a rank-`gated_norm_rank` MLP, fc1 h → r and fc2 r → h) before the
    attention of every block and before the MLP of MoE blocks."""

    name = "axk2"
    model_types: ClassVar[tuple[str, ...]] = ("axk2",)
    known = True

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        att, hidden = spec.attention, self.hidden_size()
        extra = 0
        rank = att.q_lora_rank or 0
        if att.kind == "mla" and rank:
            fused = 2 * rank * att.num_heads * (att.head_dim + att.v_head_dim)
            extra += fused - rank * att.num_heads * att.head_dim  # the formula's q_b_proj
        gate_rank = self.read_int("gated_norm_rank", "gated_norm_rank") or 0
        gated_norms = 2 if spec.ffn.kind == "moe" else 1
        extra += gated_norms * 2 * hidden * gate_rank
        spec.attention.provenance["output_gate"] = from_modeling("axk2", "q_gate_proj")
        return spec.model_copy(update={"extra_params": extra})


class LongcatFlash(GenericMLA):
    """LongCat-Flash (`modeling_longcat_flash`, LongcatFlashDecoderLayer): each of the
    `num_layers` blocks holds two sublayers, each an MLA attention (DeepSeek-V3's ranks, its
    own cache layer: layer_idx × 2 + i) and a gated MLP of `ffn_hidden_size`, with two
    RMSNorms per sublayer; the first sublayer's input also feeds the block's shortcut MoE,
    added after the second sublayer. archlint reads each sublayer as a layer (2 × num_layers,
    as LongcatFlashConfig derives num_hidden_layers): the even ones carry the MoE with their
    MLP as its shared expert. The MoE routes `moe_topk` of `n_routed_experts` +
    `zero_expert_num` (identity "zero" experts that compute nothing): the router is
    h → routed + zero, and the fused gate_up_proj is allocated for every expert, the zero
    ones included (down_proj only for the routed ones)."""

    name = "longcat_flash"
    model_types: ClassVar[tuple[str, ...]] = ("longcat_flash",)
    known = True

    def num_layers(self) -> int:
        blocks = self.read_int("num_layers", "num_layers")
        if blocks is None:
            blocks = (self.read_int("num_layers", "num_hidden_layers") or 0) // 2
        return self.derive("num_layers", 2 * blocks, "2 sublayers per block × num_layers")

    def num_experts(self) -> int:
        return self.read_int("num_experts", "n_routed_experts", "num_local_experts") or 0

    def _zero_experts(self) -> int:
        return self.read_int("zero_expert_num", "zero_expert_num") or 0

    def is_moe_layer(self, index: int) -> bool:
        return self.num_experts() > 0 and index % 2 == 0

    def norms_per_layer(self) -> int:
        return 2  # input_layernorm[i], post_attention_layernorm[i]

    def ffn(self, index: int) -> FFNSpec:
        prov: dict[str, FieldSource] = {}
        width = self.read_int("intermediate_size", "ffn_hidden_size", prov=prov) or 0
        act = self.read("activation", "hidden_act", prov=prov)
        if not self.is_moe_layer(index):
            return FFNSpec(kind="dense", activation=act, intermediate_size=width,
                           provenance=prov)
        return FFNSpec(
            kind="moe",
            activation=act,
            intermediate_size=width,
            num_experts=self.num_experts(),
            experts_per_token=self.read_int(
                "experts_per_token", "moe_topk", "num_experts_per_tok", prov=prov
            ) or 0,
            expert_intermediate_size=self.read_int(
                "expert_intermediate_size", "expert_ffn_hidden_size", prov=prov
            ) or 0,
            num_shared_experts=1,  # the sublayer's own MLP, beside the shortcut MoE
            shared_intermediate_size=width,
            router_bias=bool(self.read("router_bias", "router_bias", default=False, prov=prov)),
            provenance=prov,
        )

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        if spec.ffn.kind != "moe" or not self._zero_experts():
            return spec
        zero, hidden = self._zero_experts(), self.hidden_size()
        # the zero experts' rows: router classifier (+ bias) and gate_up_proj
        extra = zero * hidden + (zero if spec.ffn.router_bias else 0)
        extra += zero * 2 * spec.ffn.expert_intermediate_size * hidden
        spec.ffn.provenance["num_experts"] = from_modeling(
            "longcat_flash", "router and gate_up_proj also span zero_expert_num identity experts"
        )
        return spec.model_copy(update={"extra_params": extra})


class MistralLarge4Text(GenericMLA):
    """Mistral-Large-4's language model (`mistral_large4_text`; `modeling_mistral_large4`,
    MistralLarge4TextAttention): DeepSeek-V3.2's MLA + DSA without a q LoRA, where a layer
    with `no_rope_layers[i]` = 0 has no RoPE part: kv_a_proj_with_mqa emits the latent
    alone (kv_lora_rank, so the cache holds kv_lora_rank per token), and the rope width
    moves to the no-position part (qk_nope_head_dim + qk_rope_head_dim per head in
    kv_b_proj)."""

    name = "mistral_large4_text"
    model_types: ClassVar[tuple[str, ...]] = ("mistral_large4_text",)
    known = True

    def _uses_rope(self, index: int) -> bool:
        flags = self.cv.lookup("no_rope_layers")[0]
        if isinstance(flags, list) and index < len(flags):
            return bool(flags[index])
        return True

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), self._uses_rope(index))

    def positional(self, index: int) -> Positional:
        return super().positional(index) if self._uses_rope(index) else "nope"

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        att = spec.attention
        extra = 2 * att.num_heads  # the attention's softmax scaling: a scale and bias per head
        if att.indexer is not None:
            # the indexer's input LayerNorm (h, biased) and its own per-head softmax scaling
            extra += 2 * self.hidden_size() + 2 * att.indexer.num_heads
        return spec.model_copy(update={"extra_params": spec.extra_params + extra})

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        if spec.kind != "mla" or self._uses_rope(index):
            return spec
        rope = spec.qk_rope_head_dim or 0
        spec.provenance["qk_rope_head_dim"] = from_modeling(
            "mistral_large4", "no_rope_layers: no RoPE key, its width joins the nope part"
        )
        return spec.model_copy(update={
            "qk_rope_head_dim": 0, "qk_nope_head_dim": (spec.qk_nope_head_dim or 0) + rope,
            "positional": "nope",
        })


MOE_VARIANT_ADAPTERS = (Afmoe, Beam, Laguna, MiMoV2Flash, HyV4, AXK2, LongcatFlash,
                        MistralLarge4Text, Step3p5)
