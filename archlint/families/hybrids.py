"""State-space and hybrid stacks: Mamba, Mamba-2, Jamba, Nemotron-H, Granite-4.0-H, Bamba,
Falcon-H1, Zamba, Zamba2, LFM2, LFM3, RecurrentGemma, MiniMax, OLMo-Hybrid, RWKV-4, xLSTM,
Ling/Bailing hybrids.

Each adapter maps its dialect's layer pattern (a list, a pattern string, or a period and an
offset) to per-layer token mixers and FFNs, and its SSM keys to a `RecurrentSpec`; the
formulas live in `archlint.mixers`. Key names and defaults follow transformers'
`configuration_<model>.py`; parameter shapes follow its `modeling_<model>.py`.
"""

from __future__ import annotations

import math
from typing import ClassVar

from archlint.families import mtp
from archlint.families.attention_variants import KimiLinear
from archlint.families.base import Adapter, classify_heads, from_modeling
from archlint.families.dialects import DeepSeek, Llama, Olmo2
from archlint.spec import (
    AttentionSpec,
    FFNSpec,
    FieldSource,
    LayerSpec,
    Positional,
    RecurrentSpec,
)


def _dt_rank(value: object, hidden: int) -> int:
    """Mamba's Δ rank: "auto" means ⌈hidden / 16⌉ (Gu & Dao 2023, §3.6)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return math.ceil(hidden / 16)


class _Recurrent(Adapter):
    """Shared reading of SSM keys; `ssm_keys` names the dialect's key for each field."""

    tie_default = False
    #: field → config keys, first present wins
    ssm_keys: ClassVar[dict[str, tuple[str, ...]]] = {}

    def ssm(self, field: str, default: object = None) -> object:
        keys = self.ssm_keys.get(field, ())
        return self.read(f"ssm.{field}", *keys, default=default) if keys else default

    def expand(self) -> float:
        """Mamba's width multiplier, an int or a float (1.5 in some Mamba-2 configs)."""
        value = self.ssm("expand", 2)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        return float(value) if ok else 2.0  # type: ignore[arg-type]

    def ssm_int(self, field: str, default: int = 0) -> int:
        keys = self.ssm_keys.get(field, ())
        if not keys:
            return default
        return self.read_int(f"ssm.{field}", *keys, default=default) or default


class Mamba(_Recurrent):
    """Mamba-1 and Falcon-Mamba: every block is a norm and a selective-SSM mixer, no FFN.
    Falcon-Mamba's extra RMSNorms on Δ, B and C carry no weights."""

    name = "mamba"
    model_types: ClassVar[tuple[str, ...]] = ("mamba", "falcon_mamba")
    tie_default = True
    ssm_keys: ClassVar[dict[str, tuple[str, ...]]] = {
        "expand": ("expand",),
        "d_state": ("state_size",),
        "conv_kernel": ("conv_kernel",),
        "dt_rank": ("time_step_rank",),
        "proj_bias": ("use_bias",),
        "conv_bias": ("use_conv_bias",),
    }

    def layer_types(self, n_layers: int) -> list[str]:
        return ["linear"] * n_layers

    def has_ffn(self, index: int) -> bool:
        return False

    def norms_per_layer(self) -> int:
        return 1

    def recurrent(self) -> RecurrentSpec:
        hidden = self.hidden_size()
        # transformers' MambaConfig computes intermediate_size = expand × hidden unless the
        # config declares it (Falcon-Mamba-7B: 8192 with a stray expand 16); `d_inner` is ignored
        value, key, from_default = self.cv.lookup_sourced("intermediate_size")
        if isinstance(value, int) and key is not None and not from_default:
            self.prov["ssm.d_inner"] = self.declared(key)
            d_inner = value
        else:
            d_inner = int(self.expand() * hidden)
        return RecurrentSpec(
            variant="mamba1",
            d_inner=d_inner,
            d_state=self.ssm_int("d_state", 16),
            conv_kernel=self.ssm_int("conv_kernel", 4),
            dt_rank=_dt_rank(self.ssm("dt_rank"), hidden),
            proj_bias=bool(self.ssm("proj_bias", False)),
            conv_bias=bool(self.ssm("conv_bias", True)),
            bc_dt_norms=False,
            state_dtype=self.ssm_state_dtype(),
        )

    def ssm_state_dtype(self) -> str | None:
        value = self.read("ssm.state_dtype", "mamba_ssm_cache_dtype", "ssm_state_dtype")
        return value if isinstance(value, str) else None

    def linear_attention(self, index: int) -> AttentionSpec:
        return AttentionSpec(kind="linear", positional="none", linear=self.recurrent())


class Mamba2(Mamba):
    """Mamba-2 (SSD): heads of `head_dim`, B/C in `n_groups`, a gated RMSNorm before out_proj."""

    name = "mamba2"
    model_types: ClassVar[tuple[str, ...]] = ("mamba2",)
    tie_default = False
    ssm_keys: ClassVar[dict[str, tuple[str, ...]]] = {
        "expand": ("expand",),
        "d_state": ("state_size",),
        "conv_kernel": ("conv_kernel",),
        "num_heads": ("num_heads",),
        "head_dim": ("head_dim",),
        "n_groups": ("n_groups",),
        "proj_bias": ("use_bias",),
        "conv_bias": ("use_conv_bias",),
    }

    def recurrent(self) -> RecurrentSpec:
        hidden = self.hidden_size()
        # Mamba2Mixer sizes itself from expand × hidden; a config's intermediate_size is unused
        self.cv.asked.add("intermediate_size")
        heads = self.ssm_int("num_heads", 0)
        head_dim = self.ssm_int("head_dim", 0)
        d_inner = self.mamba2_inner(hidden, heads, head_dim)
        if not heads and head_dim:
            heads = d_inner // head_dim
        if not head_dim and heads:
            head_dim = d_inner // heads
        return RecurrentSpec(
            variant="mamba2",
            d_inner=d_inner,
            d_state=self.ssm_int("d_state", 128),
            conv_kernel=self.ssm_int("conv_kernel", 4),
            num_heads=heads,
            head_dim=head_dim,
            n_groups=self.ssm_int("n_groups", 1),
            proj_bias=bool(self.ssm("proj_bias", False)),
            conv_bias=bool(self.ssm("conv_bias", True)),
            state_dtype=self.ssm_state_dtype(),
        )

    def mamba2_inner(self, hidden: int, heads: int, head_dim: int) -> int:
        """d_inner = expand × hidden (transformers' Mamba2Mixer.intermediate_size)."""
        return int(self.expand() * hidden)


class _HybridSSM(Mamba2):
    """Attention + Mamba-2 hybrids whose SSM keys carry a `mamba_` prefix (Bamba, Granite-4.0-H,
    Falcon-H1), with `mamba_d_head` "auto" = d_inner / mamba_n_heads."""

    ssm_keys: ClassVar[dict[str, tuple[str, ...]]] = {
        "expand": ("mamba_expand",),
        "d_state": ("mamba_d_state",),
        "conv_kernel": ("mamba_d_conv",),
        "num_heads": ("mamba_n_heads",),
        "head_dim": ("mamba_d_head",),
        "n_groups": ("mamba_n_groups",),
        "proj_bias": ("mamba_proj_bias",),
        "conv_bias": ("mamba_conv_bias",),
    }

    def has_ffn(self, index: int) -> bool:
        return True

    def norms_per_layer(self) -> int:
        return 2


class Bamba(_HybridSSM):
    """Bamba: Mamba-2 layers with attention at `attn_layer_indices`, a dense SwiGLU in every
    layer."""

    name = "bamba"
    model_types: ClassVar[tuple[str, ...]] = ("bamba",)

    def layer_types(self, n_layers: int) -> list[str]:
        indices = self.read("layer_pattern", "attn_layer_indices")
        if isinstance(indices, list):
            return ["full" if i in indices else "linear" for i in range(n_layers)]
        return super().layer_types(n_layers)


class GraniteMoeHybrid(_HybridSSM):
    """Granite-4.0-H (`granitemoehybrid`): `layer_types` of "mamba"/"attention", Mamba-2 with
    `mamba_` keys, an MoE (`num_local_experts`, may be 0) beside a shared SwiGLU MLP of
    `shared_intermediate_size` in every layer. Attention uses no RoPE when
    `position_embedding_type` is not "rope"."""

    name = "granitemoehybrid"
    model_types: ClassVar[tuple[str, ...]] = ("granitemoehybrid",)

    def layer_types(self, n_layers: int) -> list[str]:
        declared = self.cv.lookup("layer_types", "layers_block_type")[0]
        if isinstance(declared, list) and len(declared) == n_layers:
            self.prov["layer_types"] = self.declared("layer_types")
            return [self._normalise_layer_type(str(t)) for t in declared]
        return ["linear"] * n_layers

    def positional(self, index: int) -> str:  # type: ignore[override]
        kind = self.cv.lookup("position_embedding_type")[0]
        return "rope" if kind == "rope" else "nope"

    def ffn(self, index: int) -> FFNSpec:
        prov: dict[str, FieldSource] = {}
        shared = self.read_int("shared_intermediate_size", "shared_intermediate_size", prov=prov)
        experts = self.num_experts()
        if experts > 0:
            spec = super().ffn(index)
            width = self.read_int("expert_intermediate_size", "intermediate_size") or 0
            return spec.model_copy(
                update={
                    "expert_intermediate_size": width,
                    "num_shared_experts": 1 if shared else 0,
                    "shared_intermediate_size": shared or 0,
                }
            )
        return FFNSpec(kind="dense", gated=True, intermediate_size=shared or 0, provenance=prov)

    def is_moe_layer(self, index: int) -> bool:
        return self.num_experts() > 0


class FalconH1(_HybridSSM):
    """Falcon-H1: every layer runs attention and a Mamba-2 mixer in parallel on the same
    normed input, then a SwiGLU FFN. `mamba_d_ssm` sets the SSM width when given."""

    name = "falcon_h1"
    model_types: ClassVar[tuple[str, ...]] = ("falcon_h1",)

    def layer_types(self, n_layers: int) -> list[str]:
        return ["full"] * n_layers

    def mamba2_inner(self, hidden: int, heads: int, head_dim: int) -> int:
        declared = self.read_int("ssm.d_inner", "mamba_d_ssm")
        return declared or int(self.expand() * hidden)

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        mamba = self.linear_attention(index)
        return spec.model_copy(update={"parallel_mixer": mamba})

    def qkv_bias(self) -> bool:
        return bool(self.read("qkv_bias", "attention_bias", default=False))

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        return spec.model_copy(
            update={"bias": bool(self.read("ffn_bias", "mlp_bias", default=False))}
        )

    def recurrent(self) -> RecurrentSpec:
        spec = super().recurrent()
        # Falcon-H1's gated norm exists only with mamba_rms_norm.
        norm = bool(self.read("ssm.inner_norm", "mamba_rms_norm", default=False))
        return spec.model_copy(update={"inner_norm": norm})


class NemotronH(_HybridSSM):
    """Nemotron-H / Nemotron-3 (`nemotron_h`): each block is ONE of a Mamba-2 mixer (M), an
    attention mixer (*), a squared-ReLU MLP (-) or an MoE (E), each behind its own norm.
    The pattern is `hybrid_override_pattern` (older configs) or `layers_block_type`."""

    name = "nemotron_h"
    model_types: ClassVar[tuple[str, ...]] = ("nemotron_h",)
    SYMBOLS: ClassVar[dict[str, str]] = {"M": "mamba", "*": "attention", "-": "mlp", "E": "moe"}
    ssm_keys: ClassVar[dict[str, tuple[str, ...]]] = {
        "expand": ("expand",),
        "d_state": ("ssm_state_size",),
        "conv_kernel": ("conv_kernel",),
        "num_heads": ("mamba_num_heads",),
        "head_dim": ("mamba_head_dim",),
        "n_groups": ("n_groups",),
        "proj_bias": ("mamba_proj_bias", "use_bias"),
        "conv_bias": ("use_conv_bias",),
    }

    def blocks(self) -> list[str]:
        names = {"linear_attention": "mamba", "full_attention": "attention"}
        declared, key = self.cv.lookup("layers_block_type", "layer_types")
        if isinstance(declared, list):
            self.prov["layer_types"] = self.declared(key or "layers_block_type")
            return [names.get(str(b), str(b)) for b in declared]
        pattern = self.cv.lookup("hybrid_override_pattern")[0]
        if isinstance(pattern, str):
            self.prov["layer_types"] = self.declared("hybrid_override_pattern")
            return [self.SYMBOLS.get(c, c) for c in pattern]
        self.prov["layer_types"] = FieldSource(
            kind="default", detail="NemotronHConfig default: mamba, moe, attention, mlp"
        )
        return ["mamba", "moe", "attention", "mlp"]

    def num_layers(self) -> int:
        blocks = self.blocks()
        return len(blocks) if blocks else super().num_layers()

    def layer_types(self, n_layers: int) -> list[str]:
        kinds = {"mamba": "linear", "attention": "full", "mlp": "none", "moe": "none"}
        out = []
        for block in self.blocks()[:n_layers]:
            if block not in kinds:
                self.unknown_layer_types.add(block)
            out.append(kinds.get(block, "none"))
        return out

    def has_ffn(self, index: int) -> bool:
        blocks = self.blocks()
        return index < len(blocks) and blocks[index] in ("mlp", "moe")

    def is_moe_layer(self, index: int) -> bool:
        blocks = self.blocks()
        return index < len(blocks) and blocks[index] == "moe"

    def num_experts(self) -> int:
        return self.read_int("num_experts", "n_routed_experts", "num_local_experts") or 0

    def gated_ffn(self) -> bool:
        return False  # squared-ReLU up/down MLP

    def norms_per_layer(self) -> int:
        return 1

    def mamba2_inner(self, hidden: int, heads: int, head_dim: int) -> int:
        return heads * head_dim if heads and head_dim else int(self.expand() * hidden)

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind == "moe":
            shared = self.read_int(
                "shared_intermediate_size", "moe_shared_expert_intermediate_size"
            )
            return spec.model_copy(
                update={
                    "router": "sigmoid",
                    "router_bias": True,
                    "shared_intermediate_size": shared or spec.shared_intermediate_size,
                }
            )
        return spec.model_copy(update={"bias": bool(self.read("ffn_bias", "mlp_bias"))})

    def mtp_layers(self) -> list[LayerSpec]:
        """Each `num_nextn_predict_layers` depth is the sublayers `mtp_layers_block_type`
        names (NemotronHConfig default: attention then moe; older configs
        `mtp_hybrid_override_pattern` "*E"), each one block behind its own norm, stored flat
        as mtp.layers.{depth × len + j} (NeMo's NemotronV3 MTP, "the released Super V3
        checkpoint"), with enorm, hnorm and eh_proj on the first and final_layernorm on the
        last: transformers' MTP form around the sublayers, read as one block of their
        mixer and MLP. Mamba sublayers are not read (no module)."""
        self.cv.asked.add("mtp_hybrid_override_pattern")
        declared = self.cv.lookup("mtp_layers_block_type")[0]
        pattern = self.cv.lookup("mtp_hybrid_override_pattern")[0]
        if isinstance(declared, list):
            kinds = [str(kind).replace("full_attention", "attention") for kind in declared]
        elif isinstance(pattern, str):
            kinds = [self.SYMBOLS.get(c, c) for c in pattern]
        else:
            kinds = ["attention", "moe"]
        if not set(kinds) <= {"attention", "mlp", "moe"} or kinds.count("attention") > 1:
            return []
        blocks = self.blocks()
        ffn_kinds = [k for k in kinds if k != "attention"]
        if len(ffn_kinds) > 1 or (ffn_kinds and ffn_kinds[0] not in blocks):
            return []
        n = self.num_layers()
        out = []
        for depth in range(mtp.module_count(self)):
            index = n + depth
            mixer = self.attention(index, "full") if "attention" in kinds else AttentionSpec(
                kind="none", positional="none")
            # an MTP MLP or MoE block is built as the stack's blocks of that kind
            ffn = self.ffn(blocks.index(ffn_kinds[0])) if ffn_kinds else FFNSpec(kind="none")
            out.append(LayerSpec(index=index, attention=mixer, ffn=ffn, norms=len(kinds)))
        return out


class Jamba(Mamba):
    """Jamba: Mamba-1 layers (with RMSNorms on Δ, B and C) and one attention layer every
    `attn_layer_period` from `attn_layer_offset`; MoE every `expert_layer_period` from
    `expert_layer_offset`, dense SwiGLU elsewhere."""

    name = "jamba"
    model_types: ClassVar[tuple[str, ...]] = ("jamba",)
    tie_default = False
    ssm_keys: ClassVar[dict[str, tuple[str, ...]]] = {
        "expand": ("mamba_expand",),
        "d_state": ("mamba_d_state",),
        "conv_kernel": ("mamba_d_conv",),
        "dt_rank": ("mamba_dt_rank",),
        "proj_bias": ("mamba_proj_bias",),
        "conv_bias": ("mamba_conv_bias",),
    }

    def _period(self, kind: str, period: int, offset: int) -> tuple[int, int]:
        p = self.read_int(f"{kind}_layer_period", f"{kind}_layer_period", default=period)
        o = self.read_int(f"{kind}_layer_offset", f"{kind}_layer_offset", default=offset)
        return max(p or period, 1), o or 0

    def layer_types(self, n_layers: int) -> list[str]:
        period, offset = self._period("attn", 8, 4)
        return ["full" if i % period == offset else "linear" for i in range(n_layers)]

    def has_ffn(self, index: int) -> bool:
        return True

    def norms_per_layer(self) -> int:
        return 2

    def is_moe_layer(self, index: int) -> bool:
        period, offset = self._period("expert", 2, 1)
        return self.num_experts() > 1 and index % period == offset

    def recurrent(self) -> RecurrentSpec:
        spec = super().recurrent()
        d_inner = int(self.expand() * self.hidden_size())
        return spec.model_copy(update={"bc_dt_norms": True, "d_inner": d_inner})


class _SharedTransformerStack:
    """Zamba / Zamba2 (arXiv 2405.16712 §2): a stack of Mamba layers in which each "hybrid"
    layer first runs a *shared* transformer block on the concatenation of the current and
    the original embeddings (width 2h), projects its output with a per-use linear (h → h, no
    bias) and adds it to the Mamba layer's input.

    In the spec, a hybrid layer is two blocks with the same index: the shared transformer
    (`shared_block` named after the weights it uses, so they count once however many layers
    reuse them, its compute and K/V once per use), then the layer's own Mamba block, whose
    `extra_params` hold what each use owns (the linear, Zamba2's LoRA-style adapters). The
    shared block's q/k/v read `attention_hidden_size` (2h) inputs and its first norm is as
    wide: what lies beyond the generic formula's h is its `extra_params`. Attention head size
    is `attention_head_dim`, 2h / heads unless declared."""

    def layer_types(self, n_layers: int) -> list[str]:  # "hybrid" or "linear"
        declared, key = self.cv.lookup("layers_block_type", "layer_types")  # type: ignore[attr-defined]
        if isinstance(declared, list) and len(declared) == n_layers:
            self.prov["layer_types"] = self.declared(key or "layers_block_type")  # type: ignore[attr-defined]
            return ["hybrid" if str(t) == "hybrid" else "linear" for t in declared]
        return self.default_pattern(n_layers)

    def default_pattern(self, n_layers: int) -> list[str]:
        raise NotImplementedError

    def mem_blocks(self) -> int:
        return 1

    def per_use_params(self) -> int:
        """Parameters each hybrid layer owns: the output linear h → h."""
        hidden = self.hidden_size()  # type: ignore[attr-defined]
        return hidden * hidden

    def shared_attention(self, index: int) -> AttentionSpec:
        prov: dict[str, FieldSource] = {}
        hidden = self.hidden_size()  # type: ignore[attr-defined]
        heads = self.read_int("num_heads", "num_attention_heads", prov=prov) or 0  # type: ignore[attr-defined]
        kv = self.read_int(  # type: ignore[attr-defined]
            "num_kv_heads", "num_key_value_heads", default=heads,
            why="num_key_value_heads defaults to num_attention_heads", prov=prov,
        ) or heads
        head_dim = self.shared_head_dim(hidden, heads, prov)
        return AttentionSpec(
            kind="mha" if kv == heads else "gqa" if kv > 1 else "mqa",
            num_heads=heads, num_kv_heads=kv, head_dim=head_dim, v_head_dim=head_dim,
            positional=self.positional(index),  # type: ignore[attr-defined]
            provenance=prov,
        )

    def declared_int(self, key: str, prov: dict[str, FieldSource]) -> int | None:
        """`key` only as the config declares it: the configs' __post_init__ computes these
        sizes from others, so the defaults table's value (computed at the default sizes) is
        not a default (saved configs carry the computed value, which transformers keeps)."""
        value, found, from_default = self.cv.lookup_sourced(key)  # type: ignore[attr-defined]
        if from_default or found is None or isinstance(value, bool) or not isinstance(value, int):
            return None
        prov[key] = self.declared(found)  # type: ignore[attr-defined]
        return value

    def shared_head_dim(self, hidden: int, heads: int, prov: dict[str, FieldSource]) -> int:
        declared = self.declared_int("attention_head_dim", prov)
        if declared:
            return declared
        prov["head_dim"] = FieldSource(kind="derived", detail="2 × hidden_size // heads")
        return 2 * hidden // heads if heads else 0

    def shared_width(self) -> int:
        """The shared block's input width: `attention_hidden_size` as declared, else 2h."""
        hidden = self.hidden_size()  # type: ignore[attr-defined]
        return self.declared_int("attention_hidden_size", self.prov) or 2 * hidden  # type: ignore[attr-defined]

    def shared_ffn(self, index: int) -> FFNSpec:
        return Adapter.ffn(self, index)  # type: ignore[arg-type]

    def mamba_block(self, index: int, hybrid: bool) -> LayerSpec:
        return LayerSpec(
            index=index,
            attention=self.linear_attention(index),  # type: ignore[attr-defined]
            ffn=FFNSpec(kind="none"),
            norms=1,
            extra_params=self.per_use_params() if hybrid else 0,
        )

    def shared_block(self, index: int, use: int) -> LayerSpec:
        hidden = self.hidden_size()  # type: ignore[attr-defined]
        att = self.shared_attention(index)
        # the input beyond h (the original embeddings): q, k and v columns, norm weights
        beyond = self.shared_width() - hidden
        wide = beyond * (att.num_heads + 2 * att.num_kv_heads) * att.head_dim + beyond
        return LayerSpec(
            index=index,
            attention=att,
            ffn=self.shared_ffn(index),
            norms=2,
            extra_params=wide,
            shared_block=f"shared_transformer.{use % self.mem_blocks()}",
        )

    def decoder_layers(self, kinds: list[str]) -> list[LayerSpec]:
        mamba = {False: self.mamba_block(0, False)}
        layers: list[LayerSpec] = []
        shared: dict[int, LayerSpec] = {}
        uses = 0
        for index, kind in enumerate(kinds):
            hybrid = kind == "hybrid"
            if hybrid:
                block = uses % self.mem_blocks()
                if block not in shared:
                    shared[block] = self.shared_block(index, uses)
                layers.append(shared[block].model_copy(update={"index": index}))
                uses += 1
            if hybrid not in mamba:
                mamba[hybrid] = self.mamba_block(index, hybrid)
            layers.append(mamba[hybrid].model_copy(update={"index": index}))
        return layers


class Zamba(_SharedTransformerStack, Mamba):
    """Zamba-v1 (`zamba`, modeling_zamba): Mamba-1 layers (`ZambaMambaMixer` splits d_inner
    into `n_mamba_heads`, which leaves its parameter and state shapes those of one Mamba-1 of
    d_inner = mamba_expand × h) and one shared transformer (NoPE GQA, gated MLP of
    `intermediate_size`) used by every hybrid layer. ZambaConfig's pattern when
    `layers_block_type` is absent: Mamba, Mamba, hybrid, then hybrid where
    i % attn_layer_period == attn_layer_offset over the remaining layers."""

    name = "zamba"
    model_types: ClassVar[tuple[str, ...]] = ("zamba",)
    tie_default = True
    ssm_keys: ClassVar[dict[str, tuple[str, ...]]] = {
        "expand": ("mamba_expand",),
        "d_state": ("mamba_d_state",),
        "conv_kernel": ("mamba_d_conv",),
        "dt_rank": ("mamba_dt_rank",),
        "proj_bias": ("mamba_proj_bias",),
        "conv_bias": ("mamba_conv_bias",),
    }

    def default_pattern(self, n_layers: int) -> list[str]:
        period = self.read_int("attn_layer_period", "attn_layer_period", default=6) or 6
        offset = self.read_int("attn_layer_offset", "attn_layer_offset", default=4) or 0
        self.prov["layer_types"] = FieldSource(
            kind="default",
            detail="ZambaConfig: mamba, mamba, hybrid, then hybrid at i % period == offset",
        )
        rest = ["hybrid" if i % period == offset else "linear" for i in range(n_layers - 3)]
        return ["linear", "linear", "hybrid", *rest][:n_layers]

    def recurrent(self) -> RecurrentSpec:
        spec = super().recurrent()
        d_inner = int(self.expand() * self.hidden_size())
        return spec.model_copy(update={"d_inner": d_inner})

    def positional(self, index: int) -> Positional:
        return "nope"

    def has_ffn(self, index: int) -> bool:
        return True


class Zamba2(_SharedTransformerStack, Mamba2):
    """Zamba2 (`zamba2`, modeling_zamba2): Mamba-2 layers (conv always biased, in/out
    projections biased with `add_bias_linear`) and `num_mem_blocks` shared transformers used
    in turn by the hybrid layers (use u runs block u % num_mem_blocks). Each use owns, beside
    its linear, a LoRA-style adapter of `adapter_rank` on the MLP's gate_up projection
    (h → r → 2·I) and, with `use_shared_attention_adapter`, on q, k and v (2h → r → 2h each);
    they are stored in the block that serves the use. RoPE only with `use_mem_rope`. Zamba2Config
    derives intermediate_size = 4h, head size 2h / heads, Mamba head size d_inner / heads and
    its default pattern (below) when the config omits them."""

    name = "zamba2"
    model_types: ClassVar[tuple[str, ...]] = ("zamba2",)
    tie_default = True
    ssm_keys: ClassVar[dict[str, tuple[str, ...]]] = {
        "expand": ("mamba_expand",),
        "d_state": ("mamba_d_state",),
        "conv_kernel": ("mamba_d_conv",),
        "num_heads": ("n_mamba_heads",),
        "n_groups": ("mamba_ngroups",),
        "proj_bias": ("add_bias_linear",),
    }

    def default_pattern(self, n_layers: int) -> list[str]:
        self.prov["layer_types"] = FieldSource(
            kind="default", detail="Zamba2Config's default layers_block_type (54 layers)"
        )
        pattern = (
            ["linear"] + (["linear"] * 5 + ["hybrid"]) * 7 + ["linear"] * 4 + ["hybrid"]
            + ["linear"] * 3 + ["hybrid"] + ["linear"] * 2
        )
        return (pattern + ["linear"] * n_layers)[:n_layers]

    def mem_blocks(self) -> int:
        return max(self.read_int("num_mem_blocks", "num_mem_blocks", default=1) or 1, 1)

    def recurrent(self) -> RecurrentSpec:
        spec = super().recurrent()
        # Zamba2MambaMixer's conv1d has bias=True whatever use_conv_bias says
        self.cv.asked.add("use_conv_bias")
        head_dim = self.declared_int("mamba_headdim", self.prov) or spec.head_dim
        return spec.model_copy(update={"conv_bias": True, "head_dim": head_dim})

    def _intermediate(self) -> int:
        return self.read_int(
            "intermediate_size", "intermediate_size", default=4 * self.hidden_size(),
            why="Zamba2Config: intermediate_size = 4 × hidden_size",
        ) or 0

    def shared_ffn(self, index: int) -> FFNSpec:
        bias = bool(self.read("ffn_bias", "add_bias_linear", default=False))
        return FFNSpec(
            kind="dense", gated=True, intermediate_size=self._intermediate(), bias=bias,
            activation=self.read("activation", "hidden_act"),
        )

    def per_use_params(self) -> int:
        hidden = self.hidden_size()
        rank = self.read_int("adapter_rank", "adapter_rank", default=128) or 0
        total = hidden * hidden + rank * (hidden + 2 * self._intermediate())
        if self.read("attention_adapter", "use_shared_attention_adapter", default=False):
            total += 3 * 2 * (2 * hidden * rank)
        return total

    def positional(self, index: int) -> Positional:
        return "rope" if self.read("mem_rope", "use_mem_rope", default=False) else "nope"


class Lfm2(Llama):
    """LFM2: gated short-convolution blocks and GQA blocks with q/k RMSNorm (`layer_types` or
    `full_attn_idxs`), a SwiGLU whose width is adjusted when `block_auto_adjust_ff_dim`
    (2/3 of the width, × `block_ffn_dim_multiplier`, rounded up to `block_multiple_of`)."""

    name = "lfm2"
    model_types: ClassVar[tuple[str, ...]] = ("lfm2",)
    tie_default = True

    def own_tie(self) -> bool:
        """`tie_embedding` (LFM2's own key) over `tie_word_embeddings`: Lfm2Config pops it
        into tie_word_embeddings after the field is set (transformers 5.23
        configuration_lfm2.py), so a config holding both is tied as `tie_embedding` says."""
        return bool(
            self.read("tie_word_embeddings", "tie_embedding", "tie_word_embeddings", default=True)
        )

    def default_layer_types(self, n_layers: int) -> list[str]:
        idxs = self.read("layer_pattern", "full_attn_idxs")
        if isinstance(idxs, list):
            return ["full" if i in idxs else "linear" for i in range(n_layers)]
        return ["full"] * n_layers

    def qk_norm(self) -> bool:
        return True

    def linear_attention(self, index: int) -> AttentionSpec:
        hidden = self.hidden_size()
        kernel = self.read_int("ssm.conv_kernel", "conv_L_cache", default=3) or 3
        bias = bool(self.read("ssm.conv_bias", "conv_bias", default=False))
        spec = RecurrentSpec(
            variant="short_conv", d_inner=hidden, conv_kernel=kernel, conv_bias=bias
        )
        return AttentionSpec(kind="linear", positional="none", linear=spec)

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        width = self.read_int("intermediate_size", "block_ff_dim", "intermediate_size") or 0
        if self.read("ffn_auto_adjust", "block_auto_adjust_ff_dim", default=True):
            width = int(2 * width / 3)
            multiplier = self.read("ffn_multiplier", "block_ffn_dim_multiplier")
            if isinstance(multiplier, (int, float)) and not isinstance(multiplier, bool):
                width = int(multiplier * width)
            multiple = self.read_int("ffn_multiple_of", "block_multiple_of", default=256) or 256
            width = multiple * ((width + multiple - 1) // multiple)
            spec.provenance["intermediate_size"] = FieldSource(
                kind="derived",
                detail="block_auto_adjust_ff_dim: ⌈2/3·ff × multiplier⌉ to block_multiple_of",
            )
        return spec.model_copy(update={"intermediate_size": width})


class Lfm3(Lfm2):
    """LFM3 (`lfm3`): LFM2's gated short convolutions and per-head q/k-normed GQA, with
    sliding-window attention layers beside the full ones, a SwiGLU of `intermediate_size`
    as declared (no LFM2 width adjustment), a sigmoid gate per attention head from the layer
    input (`g_proj`: h → heads, when `use_attention_gate`; the layer's `extra_params`) and,
    with `use_sandwich_norm`, RMSNorms on the operator and FFN outputs too (4 per layer).
    Lfm3Config's default pattern: layer i % 4 == 2 full attention, i % 4 == 0 (i > 0)
    sliding, the rest conv."""

    name = "lfm3"
    model_types: ClassVar[tuple[str, ...]] = ("lfm3",)

    def default_layer_types(self, n_layers: int) -> list[str]:
        self.prov["layer_types"] = FieldSource(
            kind="default",
            detail="Lfm3Config: i % 4 == 2 full, i % 4 == 0 (i > 0) sliding, others conv",
        )
        return [
            "full" if i % 4 == 2 else "sliding" if i % 4 == 0 and i > 0 else "linear"
            for i in range(n_layers)
        ]

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        att = spec.attention
        if att.kind in ("linear", "none") or not self.read(
            "head_gate", "use_attention_gate", default=True
        ):
            return spec
        # the per-head gate is no AttentionSpec field: its weights are the block's extras
        return spec.model_copy(update={"extra_params": self.hidden_size() * att.num_heads})

    def norms_per_layer(self) -> int:
        return 4 if self.read("sandwich_norm", "use_sandwich_norm", default=True) else 2

    def ffn(self, index: int) -> FFNSpec:
        return Llama.ffn(self, index)


class RecurrentGemma(Adapter):
    """RecurrentGemma (Griffin): `block_types` cycled over the layers — RG-LRU recurrent
    blocks and local MQA attention over `attention_window_size` — each followed by a gated
    GeGLU MLP of intermediate_size // 2 with biases; partial RoPE; tied embeddings."""

    name = "recurrent_gemma"
    model_types: ClassVar[tuple[str, ...]] = ("recurrent_gemma",)
    tie_default = True

    def _blocks(self, n_layers: int) -> list[str]:
        declared = self.read("layer_pattern", "block_types", "_block_types")
        blocks = (
            [str(b) for b in declared]
            if isinstance(declared, list) and declared
            else ["recurrent", "recurrent", "attention"]
        )
        return [blocks[i % len(blocks)] for i in range(n_layers)]

    def layer_types(self, n_layers: int) -> list[str]:
        return ["linear" if b == "recurrent" else "sliding" for b in self._blocks(n_layers)]

    def window(self) -> int | None:
        return self.read_int("window", "attention_window_size", default=2048)

    def kv_heads(self, heads: int, prov: dict[str, FieldSource]) -> int:
        return (
            self.read_int("num_kv_heads", "num_key_value_heads", default=heads, prov=prov) or heads
        )

    def rotary_fraction(self) -> float | None:
        value = self.read("rotary_fraction", "partial_rotary_factor", default=0.5)
        return float(value) if isinstance(value, (int, float)) else 0.5

    def o_bias(self) -> bool:
        return True

    def qkv_bias(self) -> bool:
        return False

    def linear_attention(self, index: int) -> AttentionSpec:
        width = self.read_int("ssm.d_inner", "lru_width") or self.hidden_size()
        heads = self.read_int("num_heads", "num_attention_heads") or 1
        kernel = self.read_int("ssm.conv_kernel", "conv1d_width", default=4) or 4
        spec = RecurrentSpec(variant="rglru", d_inner=width, num_heads=heads, conv_kernel=kernel)
        return AttentionSpec(kind="linear", positional="none", linear=spec)

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        width = self.read_int("intermediate_size", "intermediate_size") or 0
        spec.provenance["intermediate_size"] = FieldSource(
            kind="derived", detail="RecurrentGemma MLP width is intermediate_size // 2"
        )
        return spec.model_copy(update={"intermediate_size": width // 2, "bias": True})


class MiniMax(Llama):
    """MiniMax-Text-01 / M1 (`minimax`): lightning-attention layers and softmax GQA layers
    (`layer_types`, or `attn_type_list` with 0 = lightning, 1 = softmax), a Mixtral-style MoE in
    every layer. The released repos' remote-code configs (`minimax_text_01`, `minimax_m1`:
    MiniMaxText01Config / MiniMaxM1Config) are the same architecture in the older schema that
    transformers' MiniMax-VL-01 conversion migrates: `attn_type_list`, `rotary_dim` (RoPE on
    the first rotary_dim of head_dim), `shared_intermediate_size` (an int, or a one-element
    list) with a sigmoid `coefficient` gate h → 1 on the shared MLP (vLLM's
    MiniMaxText01DecoderLayer)."""

    name = "minimax"
    model_types: ClassVar[tuple[str, ...]] = ("minimax", "minimax_m1", "minimax_text_01")

    def rotary_fraction(self) -> float | None:
        fraction = super().rotary_fraction()
        rotary = self.read_int("rotary_dim", "rotary_dim")
        if fraction is not None or not rotary:
            return fraction
        heads = self.read_int("num_heads", "num_attention_heads") or 0
        head_dim = self.read_int("head_dim", "head_dim") or (
            self.hidden_size() // heads if heads else 0
        )
        return rotary / head_dim if head_dim and rotary != head_dim else None

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        declared = self.cv.lookup("shared_intermediate_size")[0]
        if (
            spec.kind == "moe" and isinstance(declared, list) and len(declared) == 1
            and isinstance(declared[0], int) and declared[0] > 0
        ):
            # MiniMax-VL-01's text_config writes the shared width as [n]
            spec = spec.model_copy(
                update={"num_shared_experts": 1, "shared_intermediate_size": declared[0]}
            )
        if spec.kind == "moe" and spec.num_shared_experts:
            # the shared MLP's output is mixed by sigmoid(coefficient(h)), a Linear h → 1
            spec = spec.model_copy(update={"shared_expert_gate": True})
        return spec

    def layer_types(self, n_layers: int) -> list[str]:
        declared = self.cv.lookup("attn_type_list")[0]
        if isinstance(declared, list) and len(declared) == n_layers:
            self.prov["layer_types"] = self.declared("attn_type_list")
            return ["full" if int(t) == 1 else "linear" for t in declared]
        if isinstance(self.cv.lookup("layer_types")[0], list):
            return super().layer_types(n_layers)
        self.prov["layer_types"] = FieldSource(
            kind="default", detail="MiniMaxConfig default: even layers softmax, odd lightning"
        )
        return ["full" if (i + 1) % 2 else "linear" for i in range(n_layers)]

    def linear_attention(self, index: int) -> AttentionSpec:
        heads = self.read_int("num_heads", "num_attention_heads") or 0
        head_dim = self.read_int("head_dim", "head_dim") or (
            self.hidden_size() // heads if heads else 0
        )
        spec = RecurrentSpec(variant="lightning", num_heads=heads, head_dim=head_dim)
        return AttentionSpec(kind="linear", positional="none", linear=spec)


class OlmoHybrid(Olmo2):
    """OLMo-Hybrid (`olmo_hybrid`): Gated DeltaNet layers and OLMo-2-style attention layers
    (post-norms, q/k RMSNorm over the whole projection), a SwiGLU in every layer.
    `OlmoHybridGatedDeltaNet` holds separate q/k/v/g and a/b projections (h → 2·Hk·Dk +
    2·Hv·Dv and h → 2·Hv): the same weights as Qwen3-Next's fused in_proj_qkvz/in_proj_ba.
    What the config leaves out, `OlmoHybridConfig.__post_init__` derives: every 4th layer
    (i % 4 == 3) is attention (the last one if that gives none), linear heads = attention
    heads, Dk = int(0.75 · hidden / Hk), Dv = 2·Dk, KV heads = attention heads."""

    name = "olmo_hybrid"
    model_types: ClassVar[tuple[str, ...]] = ("olmo_hybrid",)
    tie_default = False

    def default_layer_types(self, n_layers: int) -> list[str]:
        self.prov["layer_types"] = FieldSource(
            kind="default", detail="OlmoHybridConfig: layer i % 4 == 3 full, the rest linear"
        )
        kinds = ["full" if i % 4 == 3 else "linear" for i in range(n_layers)]
        if "full" not in kinds and kinds:
            kinds[-1] = "full"
        return kinds

    def kv_heads(self, heads: int, prov: dict[str, FieldSource]) -> int:
        return self.read_int(
            "num_kv_heads", "num_key_value_heads", default=heads,
            why="OlmoHybridConfig: num_key_value_heads = num_attention_heads", prov=prov,
        ) or heads

    def linear_attention(self, index: int) -> AttentionSpec:
        prov: dict[str, FieldSource] = {}
        hidden = self.hidden_size()
        heads = self.read_int("num_heads", "num_attention_heads", prov=prov) or 0
        why = "OlmoHybridConfig default: num_attention_heads"
        k_heads = self.read_int(
            "linear.num_key_heads", "linear_num_key_heads", default=heads, why=why, prov=prov
        ) or 0
        v_heads = self.read_int(
            "linear.num_value_heads", "linear_num_value_heads", default=heads, why=why, prov=prov
        ) or 0
        k_dim = self.read_int(
            "linear.key_head_dim", "linear_key_head_dim",
            default=int(0.75 * hidden / k_heads) if k_heads else 0,
            why="OlmoHybridConfig default: int(0.75 × hidden_size / linear_num_key_heads)",
            prov=prov,
        ) or 0
        v_dim = self.read_int(
            "linear.value_head_dim", "linear_value_head_dim", default=2 * k_dim,
            why="OlmoHybridConfig default: 2 × linear_key_head_dim", prov=prov,
        ) or 0
        kernel = self.read_int(
            "linear.conv_kernel", "linear_conv_kernel_dim", default=4, prov=prov
        ) or 4
        spec = RecurrentSpec(
            variant="gated_deltanet", num_key_heads=k_heads, num_value_heads=v_heads,
            key_head_dim=k_dim, value_head_dim=v_dim, conv_kernel=kernel,
        )
        return AttentionSpec(kind="linear", positional="none", linear=spec, provenance=prov)


class Rwkv(Adapter):
    """RWKV-4 (`rwkv`, modeling_rwkv): every block is a LayerNorm'd time mix (`rwkv4` mixer)
    and a LayerNorm'd channel mix: key (h → I) and value (I → h) as an ungated MLP, plus a
    receptance gate (h → h) and two token-shift mixes (h each) that are the block's
    `extra_params`. Layer 0 also norms the embeddings (`pre_ln`); no position embedding;
    RwkvConfig derives attention_hidden_size = h and intermediate_size = 4h when omitted."""

    name = "rwkv"
    model_types: ClassVar[tuple[str, ...]] = ("rwkv",)
    tie_default = False

    def layer_types(self, n_layers: int) -> list[str]:
        return ["linear"] * n_layers

    def norm_kind(self) -> str:
        return "layernorm"

    def embedding_norm(self) -> bool:
        return True

    def positional(self, index: int) -> Positional:
        return "none"

    def linear_attention(self, index: int) -> AttentionSpec:
        hidden = self.hidden_size()
        width = self.read_int(
            "ssm.d_inner", "attention_hidden_size", default=hidden,
            why="RwkvConfig: attention_hidden_size = hidden_size",
        ) or hidden
        spec = RecurrentSpec(variant="rwkv4", d_inner=width, d_state=hidden, conv_kernel=2)
        return AttentionSpec(kind="linear", positional="none", linear=spec)

    def ffn(self, index: int) -> FFNSpec:
        width = self.read_int(
            "intermediate_size", "intermediate_size", default=4 * self.hidden_size(),
            why="RwkvConfig: intermediate_size = 4 × hidden_size",
        ) or 0
        return FFNSpec(kind="dense", gated=False, intermediate_size=width, activation="relu²")

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        hidden = self.hidden_size()
        return spec.model_copy(update={"extra_params": hidden * hidden + 2 * hidden})


def _round_up(value: float, multiple: int) -> int:
    """xLSTM's round_up_to_next_multiple_of (configuration_xlstm)."""
    return int(((value + multiple - 1) // multiple) * multiple)


class XLSTM(Adapter):
    """xLSTM (`xlstm`, modeling_xlstm; xLSTM-7B): every block is an RMSNorm'd mLSTM layer
    (`mlstm` mixer, q/k of int(h × qk_dim_factor), v of int(h × v_dim_factor), `num_heads`
    heads) and an RMSNorm'd SwiGLU of round_up(h × ffn_proj_factor, ffn_round_up_to_multiple_of);
    `use_bias` biases the projections and the block norms (their biases are the block's extra
    params). `embedding_dim` / `num_blocks` are the
    older names of hidden_size / num_hidden_layers."""

    name = "xlstm"
    model_types: ClassVar[tuple[str, ...]] = ("xlstm",)
    tie_default = False

    def hidden_size(self) -> int:
        return self.read_int("hidden_size", "hidden_size", "embedding_dim") or 0

    def num_layers(self) -> int:
        # xLSTMModel builds `num_blocks` blocks (xLSTMConfig fills it from num_hidden_layers)
        return self.read_int("num_layers", "num_blocks", "num_hidden_layers") or 0

    def embedding_width(self) -> int | None:
        # the token table is `embedding_dim` wide (xLSTMModel.embeddings)
        width = self.read_int("embedding_size", "embedding_dim")
        return width if width and width != self.hidden_size() else None

    def layer_types(self, n_layers: int) -> list[str]:
        return ["linear"] * n_layers

    def use_bias(self) -> bool:
        return bool(self.read("use_bias", "use_bias", default=False))

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        # the two block norms carry a bias with use_bias (the final out_norm never does)
        extra = 2 * self.hidden_size() if self.use_bias() else 0
        return spec.model_copy(update={"extra_params": extra})

    def positional(self, index: int) -> Positional:
        return "none"

    def _factor(self, key: str, default: float) -> float:
        value = self.read(key, key, default=default)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if ok else default  # type: ignore[arg-type]

    def linear_attention(self, index: int) -> AttentionSpec:
        hidden = self.hidden_size()
        heads = self.read_int("num_heads", "num_heads", default=8) or 1
        qk = int(hidden * self._factor("qk_dim_factor", 0.5))
        v = int(hidden * self._factor("v_dim_factor", 1.0))
        spec = RecurrentSpec(
            variant="mlstm", num_heads=heads, key_head_dim=qk // heads,
            value_head_dim=v // heads, proj_bias=self.use_bias(),
        )
        return AttentionSpec(kind="linear", positional="none", linear=spec)

    def ffn(self, index: int) -> FFNSpec:
        multiple = self.read_int(
            "ffn_multiple_of", "ffn_round_up_to_multiple_of", default=64
        ) or 64
        width = _round_up(self.hidden_size() * self._factor("ffn_proj_factor", 2.667), multiple)
        return FFNSpec(
            kind="dense", gated=True, activation="silu", intermediate_size=width,
            bias=self.use_bias(),
            provenance={"intermediate_size": FieldSource(
                kind="derived",
                detail="round_up(hidden_size × ffn_proj_factor, ffn_round_up_to_multiple_of)",
            )},
        )


class BailingHybrid(KimiLinear):
    """Ling / Bailing hybrids (`bailing_hybrid`, modeling_bailing_hybrid): Kimi-Delta-style
    linear layers with full-rank gates (`kda_full_gates`) and an MLA layer (no q LoRA, RoPE)
    every `layer_group_size` layers, each MLA layer with a sigmoid gate per head (g_proj:
    h → heads, the layer's extra params); DeepSeek-V3's MoE after `first_k_dense_replace`
    dense layers (or per `mlp_layer_types`). BailingHybridConfig's linear sizes when
    undeclared: heads = num_attention_heads, head size = head_dim as the config gives it
    (its __post_init__ then sets head_dim to qk_rope_head_dim), conv = short_conv_kernel_size."""

    name = "bailing_hybrid"
    model_types: ClassVar[tuple[str, ...]] = ("bailing_hybrid",)

    def default_layer_types(self, n_layers: int) -> list[str]:
        group = self.read_int("layer_group_size", "layer_group_size", default=6) or 6
        self.prov["layer_types"] = FieldSource(
            kind="default", detail="BailingHybridConfig: full where (i + 1) % layer_group_size == 0"
        )
        return ["full" if (i + 1) % group == 0 else "linear" for i in range(n_layers)]

    def positional(self, index: int) -> Positional:
        return "rope"

    def _declared(self, key: str) -> int | None:
        value, found, from_default = self.cv.lookup_sourced(key)
        if from_default or found is None or isinstance(value, bool) or not isinstance(value, int):
            return None
        self.prov[f"linear.{key}"] = self.declared(found)
        return value

    def linear_attention(self, index: int) -> AttentionSpec:
        heads = self._declared("linear_num_heads") or self.read_int(
            "num_heads", "num_attention_heads"
        ) or 0
        dim = self._declared("linear_head_dim") or self._declared("head_dim") or 128
        kernel = self._declared("linear_conv_kernel_dim") or self.read_int(
            "linear.conv_kernel", "short_conv_kernel_size", default=4
        ) or 4
        linear = RecurrentSpec(
            variant="kda_full_gates", num_key_heads=heads, num_value_heads=heads,
            key_head_dim=dim, value_head_dim=dim, conv_kernel=kernel, conv_bias=False,
        )
        return AttentionSpec(kind="linear", positional="none", linear=linear)

    def is_moe_layer(self, index: int) -> bool:
        kinds = self.cv.lookup("mlp_layer_types")[0]
        if isinstance(kinds, list) and index < len(kinds):
            return kinds[index] == "sparse"
        first = self.read_int("first_k_dense_replace", "first_k_dense_replace", default=2)
        return self.num_experts() > 1 and index >= (first or 0)

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        if spec.attention.kind != "mla":
            return spec
        return spec.model_copy(
            update={"extra_params": self.hidden_size() * spec.attention.num_heads}
        )

    def mtp_layers(self) -> list[LayerSpec]:
        return DeepSeek.mtp_layers(self)


class Zaya(Adapter):
    """ZAYA1 (`modeling_zaya`; Compressed Convolutional Attention, arXiv 2510.04476): every
    layer is `hybrid` (full) or `hybrid_sliding` (`sliding_window`) attention whose q/k pass
    two stacked causal convs and whose values are half current-token (v_proj_current) and
    half previous-token (v_proj_delayed) projections, each Hkv × D/2: the K/V cache is
    ordinary, and beside it each layer keeps the conv history and the delayed value (the
    `conv_history` mixer, a parallel mixer of the layer). Parameters per layer, from the modules
    ZayaDecoderLayer builds: q/k/v/o (biased with `attention_bias`), the depthwise conv
    (C × t0 + C, C = (Hq + Hkv) × D) and the grouped conv (C × D × t1 + C, groups Hq + Hkv),
    a per-KV-head key temperature; two RMSNorms and two residual scalings (4 × h each); the
    MoE of `num_experts` gated experts (`moe_intermediate_size`, top-1) with its router:
    down_proj h → R (+R), a per-R scale on every layer but the first (the routing state
    carried from the layer before), and an MLP over R (RMSNorm, two biased R × R, out
    R → experts + 1: the skip expert). The model adds an input scale and bias (2 × h)."""

    name = "zaya"
    model_types: ClassVar[tuple[str, ...]] = ("zaya",)
    known = True
    tie_default = True
    LAYER_TYPE_NAMES: ClassVar[dict[str, str]] = {
        **Adapter.LAYER_TYPE_NAMES, "hybrid": "full", "hybrid_sliding": "sliding",
    }

    def _kernels(self) -> tuple[int, int]:
        t0 = self.read_int("cca_time0", "cca_time0", default=2, why="ZayaConfig: 2") or 2
        t1 = self.read_int("cca_time1", "cca_time1", default=2, why="ZayaConfig: 2") or 2
        return t0, t1

    def is_moe_layer(self, index: int) -> bool:
        return self.num_experts() > 0

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), index == 0)  # no router scale on 0

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if spec.kind != "moe":
            return spec
        return spec.model_copy(update={"expert_intermediate_size": self.read_int(
            "expert_intermediate_size", "moe_intermediate_size"
        ) or spec.expert_intermediate_size})

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        att, h = spec.attention, self.hidden_size()
        t0, t1 = self._kernels()
        dim, q_heads, kv_heads = att.head_dim, att.num_heads, att.num_kv_heads
        channels = (q_heads + kv_heads) * dim
        extra = channels * t0 + channels + channels * dim * t1 + channels  # the two convs
        extra += kv_heads  # ZayaQKNorm.temp
        extra += 2 * 4 * h  # the two ZayaResidualScaling
        if spec.ffn.kind == "moe":
            r = self.read_int("router_hidden_size", "router_hidden_size", default=256,
                              why="ZayaConfig: router_hidden_size 256") or 0
            experts = spec.ffn.num_experts
            router = h * r + r + (r if index > 0 else 0)  # down_proj, router_states_scale
            router += r + 2 * (r * r + r) + r * (experts + 1)  # router MLP with skip expert
            extra += router - h * experts  # in place of the formula's h → experts router
        state = AttentionSpec(
            kind="linear",
            positional="none",
            linear=RecurrentSpec(
                variant="conv_history",
                d_inner=channels,
                conv_kernel=t0 + t1 - 1,
                num_value_heads=kv_heads,
                value_head_dim=dim // 2,
            ),
        )
        return spec.model_copy(update={"extra_params": extra, "parallel_mixer": state})

    def build(self):  # type: ignore[no-untyped-def]
        spec = super().build()
        scale = 2 * self.hidden_size()  # ZayaModel.input_hidden_states_scale / _bias
        return spec.model_copy(
            update={"extra_params": {**spec.extra_params,
                                     "other": spec.extra_params.get("other", 0) + scale}}
        )


class InklingText(Adapter):
    """Inkling's language model (`inkling_text`; `modeling_inkling`, InklingDecoderLayer):
    layers follow `layer_types`, `hybrid_sliding` (a `sliding_window_size` window, with the
    `swa_num_attention_heads`, `swa_num_key_value_heads` and `swa_head_dim` shapes) or
    `hybrid` (full: num_attention_heads, num_key_value_heads, head_dim); without the list
    every sixth layer is full (InklingTextConfig: `local_layer_ids`, else (i + 1) % 6).
    Each attention holds q/k/v/o, per-head q/k RMSNorms, r_proj (h → heads × d_rel) and a
    relative-logits bank (d_rel × rel_extent; the window on sliding layers), and
    depthwise short convs of kernel K (`conv_kernel_size`, no bias) on k and on v; the
    block adds two more short convs on the attention and MLP inputs (h channels each), two
    RMSNorms and, per MLP, a learned `global_scale`. The MoE (`mlp_layer_types` sparse)
    routes among n_routed_experts with n_shared_experts shared ones, all rows of one router
    weight (routed + shared) with a global scale; the embedding carries an RMSNorm. The
    four conv histories are the layer's constant state beside its K/V (`conv_history`).
    With `dense_intermediate_size` the config's intermediate_size is the experts' width,
    as InklingTextConfig reads it."""

    name = "inkling_text"
    model_types: ClassVar[tuple[str, ...]] = ("inkling_text",)
    known = True
    tie_default = False
    LAYER_TYPE_NAMES: ClassVar[dict[str, str]] = {
        **Adapter.LAYER_TYPE_NAMES, "hybrid": "full", "hybrid_sliding": "sliding",
    }

    def default_layer_types(self, n_layers: int) -> list[str]:
        local = self.cv.lookup("local_layer_ids")[0]
        every_sixth = {i for i in range(n_layers) if (i + 1) % 6}
        ids = set(local) if isinstance(local, list) else every_sixth
        self.prov["layer_types"] = from_modeling(
            "inkling", "local_layer_ids sliding, else every sixth layer full"
        )
        return ["sliding" if i in ids else "full" for i in range(n_layers)]

    def window(self) -> int | None:
        return self.read_int("window", "sliding_window_size", "sliding_window")

    def embedding_norm(self) -> bool:
        return True  # InklingNormedEmbedding.embed_norm

    def qk_norm(self) -> bool:
        return True

    def _kernel(self) -> int:
        return self.read_int("conv_kernel_size", "conv_kernel_size", "sconv_kernel_size",
                             default=4, why="InklingTextConfig: conv_kernel_size 4") or 4

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        if layer_type != "sliding":
            return spec
        heads = self.read_int("num_heads", "swa_num_attention_heads") or spec.num_heads
        kv = self.read_int("num_kv_heads", "swa_num_key_value_heads") or spec.num_kv_heads
        dim = self.read_int("head_dim", "swa_head_dim") or spec.head_dim
        return spec.model_copy(update={
            "num_heads": heads, "num_kv_heads": kv, "head_dim": dim, "v_head_dim": dim,
            "kind": classify_heads(heads, kv),
        })

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        dense = self.read_int("intermediate_size", "dense_intermediate_size")
        if dense is None:
            return spec
        experts = self.read_int("expert_intermediate_size", "intermediate_size") or 0
        if spec.kind == "dense":
            return spec.model_copy(update={"intermediate_size": dense})
        shared = self.read_int("num_shared_experts", "n_shared_experts") or 0
        return spec.model_copy(update={"intermediate_size": dense,
                                       "expert_intermediate_size": experts,
                                       "shared_intermediate_size": shared * experts})

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        att, h, k = spec.attention, self.hidden_size(), self._kernel()
        d_rel = self.read_int("d_rel", "d_rel", default=16, why="InklingTextConfig: 16") or 0
        extent = att.window if layer_type == "sliding" else self.read_int(
            "rel_extent", "rel_extent", default=1024, why="InklingTextConfig: 1024")
        kv_width = att.num_kv_heads * att.head_dim
        extra = h * att.num_heads * d_rel + d_rel * (extent or 0)  # r_proj, relative logits
        extra += (2 * kv_width + 2 * h) * k  # k/v, attention-input and MLP-input short convs
        extra += 1  # the MLP's or the router's global_scale
        if spec.ffn.kind == "moe":
            extra += spec.ffn.num_shared_experts * h  # the shared experts' router rows
        state = AttentionSpec(
            kind="linear",
            positional="none",
            linear=RecurrentSpec(
                variant="conv_history", d_inner=2 * kv_width + 2 * h, conv_kernel=k
            ),
        )
        return spec.model_copy(update={"extra_params": extra, "parallel_mixer": state})

    # -- MTP (archlint/families/mtp.py) ---------------------------------------------------------
    def _mtp_setting(self, key: str, mtp_key: str) -> object:
        """An MTP setting of the text config or, in a checkpoint, of the top-level
        `mtp_config` block InklingConfig copies it from (`mtp_key` there)."""
        value = self.cv.lookup(key)[0]
        block = self.cv.root.get("mtp_config")
        if value is None and isinstance(block, dict):
            value = block.get(mtp_key)
        return value

    def mtp_layers(self) -> list[LayerSpec]:
        """InklingTextConfig's MTP layers (MtpModel): dense blocks (`mtp_mlp_layer_types`),
        sliding where `mtp_local_layer_ids` lists them, else full, stored under
        model.mtp.layers.{k} (transformer_block, embed_norm, hidden_norm, input_proj); no
        post norm per layer, one shared `chain_norm` where chain_hidden_post_norm is true."""
        self.cv.asked.update(("num_mtp_layers", "mtp_local_layer_ids", "chain_hidden_post_norm",
                              "mtp_hidden_states_first"))
        count = self._mtp_setting("num_mtp_layers", "num_nextn_predict_layers")
        count = count if isinstance(count, int) and not isinstance(count, bool) else 0
        local = self._mtp_setting("mtp_local_layer_ids", "local_layer_ids")
        ids = set(local) if isinstance(local, list) else set()
        kinds = ["sliding" if i in ids else "full" for i in range(count)]
        blocks = mtp.modules(self, routed=False, count=count, kinds=kinds)
        if blocks and self._mtp_setting("chain_hidden_post_norm", "chain_hidden_post_norm"):
            first = blocks[0]
            blocks[0] = first.model_copy(
                update={"extra_params": first.extra_params + self.hidden_size()}
            )
        return blocks

    def mtp_module_norms(self) -> int:
        return 2  # embed_norm, hidden_norm


class Inkling2Text(InklingText):
    """Inkling-2's language model (`inkling2_text`; transformers 5.23 `modeling_inkling2`):
    Inkling's layer schedule, window and head shapes, with these modules per layer
    (Inkling2SlidingDecoderLayer / Inkling2FullDecoderLayer):

    - attention: q/k/v/o, a sigmoid output gate (gate_proj, h → heads × head_dim), a
      per-token sink (sink_proj, h → heads), r_proj (h → heads × d_rel) and the relative-
      logits bank (d_rel × the window, or `rel_extent` on full layers), learned scales of
      the q and relative-state L2 clips (heads × head_dim, heads × d_rel); no q/k norms;
    - short convs on k and on v (kv_heads × head_dim channels, kernel K): static depthwise
      on sliding layers, on full layers dynamic (a static K × channels tap bank and
      weight_proj, h → kv_heads × K), and on the attention output and the MLP output
      (h channels each);
    - block attention residuals: a learned query over the block states before the
      attention (h, three of them on full layers feeding q, k and v; none on layer 0) and
      before the MLP (h); input norms (one, or q/k/v on full layers) and the post-attention
      norm;
    - the MoE: routed experts only, one router row per expert, no global scale.

    The four conv histories are the layer's constant state beside its K/V, as Inkling's
    (`conv_history`); a final block-residual query (h) reads the stack's output."""

    name = "inkling2_text"
    model_types: ClassVar[tuple[str, ...]] = ("inkling2_text",)

    def qk_norm(self) -> bool:
        return False

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        return super().attention(index, layer_type).model_copy(update={"output_gate": True})

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), index == 0)

    def norms_per_layer(self) -> int:
        return 2  # the full layers' two more input norms are added in `layer`

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = Adapter.layer(self, index, layer_type)
        att, h, k = spec.attention, self.hidden_size(), self._kernel()
        full = layer_type != "sliding"
        d_rel = self.read_int("d_rel", "d_rel", default=16, why="Inkling2TextConfig: 16") or 0
        extent = self.read_int("rel_extent", "rel_extent", default=1024,
                               why="Inkling2TextConfig: 1024") if full else att.window
        heads, kv_width = att.num_heads, att.num_kv_heads * att.head_dim
        extra = h * heads * d_rel + d_rel * (extent or 0)  # r_proj, relative logits
        extra += h * heads  # sink_proj
        extra += heads * att.head_dim + heads * d_rel  # q and relative-state clip scales
        if full:  # dynamic k/v convs: static taps and weight_proj, each
            extra += 2 * (k * kv_width + h * att.num_kv_heads * k)
        else:
            extra += 2 * kv_width * k
        extra += 2 * h * k  # post-attention and post-MLP short convs
        extra += (3 * h if full else h) if index > 0 else 0  # attention-input queries
        extra += h  # the MLP-input query
        state = AttentionSpec(
            kind="linear",
            positional="none",
            linear=RecurrentSpec(variant="conv_history", d_inner=2 * kv_width + 2 * h,
                                 conv_kernel=k),
        )
        return spec.model_copy(update={
            "extra_params": extra, "parallel_mixer": state, "norms": 4 if full else 2,
        })

    def build(self):  # type: ignore[no-untyped-def]
        spec = super().build()
        query = self.hidden_size()  # Inkling2TextModel.final_input
        return spec.model_copy(update={"extra_params": {
            **spec.extra_params, "other": spec.extra_params.get("other", 0) + query,
        }})


HYBRID_ADAPTERS: tuple[type[Adapter], ...] = (
    InklingText,
    Inkling2Text,
    Zaya,
    Mamba,
    Mamba2,
    Bamba,
    GraniteMoeHybrid,
    FalconH1,
    NemotronH,
    Jamba,
    Zamba,
    Zamba2,
    Lfm2,
    Lfm3,
    RecurrentGemma,
    MiniMax,
    OlmoHybrid,
    Rwkv,
    XLSTM,
    BailingHybrid,
)
