"""DeepSeek-V4 (`deepseek_v4`; transformers 5.23 `modeling_deepseek_v4`, DeepseekV4Config).

Every layer is a shared-KV MQA over a sliding window (`sliding_window`, 128): one K=V head of
`head_dim` from kv_proj with a kv_norm, queries through a low-rank q (q_a → norm → q_b, the
norm after q_b carries no weight), a learned sink per head and a grouped low-rank output
(`o_groups` × `o_lora_rank`, then o_b_proj). What the layer adds beside the window is its
type (`layer_types`, or the legacy per-layer `compress_ratios` 0 / 4 / 128, or
DeepseekV4Config's default: two HCA layers, then CSA and HCA alternating):

- `sliding_attention`: the window alone;
- `heavily_compressed_attention` (HCA): a compressor caching one entry per
  `compress_rates[...]` (128) tokens, every entry read;
- `compressed_sparse_attention` (CSA): an overlapping compressor at rate 4 and a lightning
  indexer (`index_n_heads` × `index_head_dim`) that picks `index_topk` entries per query,
  with compressed keys of its own.

Residuals are `hc_mult` streams mixed by two Manifold-Constrained Hyper-Connections per
block (fn: (2 + n)·n × n·h, base (2 + n)·n, scale 3) and collapsed by a HyperHead before the
final norm (n × n·h, n, 1). Every MLP is the routed block (the first `num_hash_layers` route
by a frozen token table, a buffer, with the same parameters) with one shared expert of the
experts' width (DeepseekV4MLP reads `moe_intermediate_size` whatever `n_shared_experts`
says).

The MTP blocks (`num_nextn_predict_layers`; DeepSeek's inference/model.py `MTPBlock`, stored
under `mtp.N.` in the checkpoint) are not built by transformers but ship with the weights:
each is a full block of the type the `compress_ratios` entry past the stack gives (sliding
for DeepSeek-V4-Flash and -Pro), plus e_proj and h_proj (h → h each: DeepSeek-V3's 2h → h
eh_proj split in two), enorm, hnorm and its own norm, and a HyperHead of its own (hc_head_fn,
hc_head_base, hc_head_scale); the embedding and the LM head are the main model's. Counted as
`mtp` like DeepSeek-V3's, outside the active parameters.
"""

from __future__ import annotations

from typing import Any, ClassVar

from archlint.families.base import Adapter
from archlint.spec import (
    AttentionSpec,
    CompressorSpec,
    FFNSpec,
    FieldSource,
    LayerSpec,
    QuantizationSpec,
)

SLIDING = "sliding_attention"
CSA = "compressed_sparse_attention"
HCA = "heavily_compressed_attention"
#: DeepseekV4Config's legacy `compress_ratios` values → layer types
RATIO_TYPES = {0: SLIDING, 4: CSA, 128: HCA}
#: `expert_dtype` → how the routed experts are stored: "fp4" is E2M1 packed two per int8 with
#: a float8_e8m0fnu scale per 32 inputs (DeepSeek's inference/model.py: Linear with
#: float4_e2m1fn_x2, fp4_block_size 32), the MX FP4 layout; "fp8" is the fp8 blocks of the
#: rest of the linear weights
EXPERT_METHODS = {"fp4": "mxfp4", "fp8": "fp8"}


def hyper_connection_params(streams: int, hidden: int) -> int:
    """One Manifold-Constrained Hyper-Connection (DeepSeek-V4 report §2.2; transformers'
    DeepseekV4HyperConnection, Glm5NextTextHyperConnection): `fn` maps the n flattened
    streams (n·h) to the pre (n), post (n) and comb (n²) mixes, plus their bias `base` and
    three scales."""
    mixes = (2 + streams) * streams
    return mixes * streams * hidden + mixes + 3


def _config_default(fact: str) -> FieldSource:
    return FieldSource(kind="default", detail=f"transformers DeepseekV4Config: {fact}")


class DeepseekV4(Adapter):
    name = "deepseek_v4"
    model_types: ClassVar[tuple[str, ...]] = ("deepseek_v4",)
    known = True
    tie_default = False

    def __init__(self, config: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._v4_types: list[str] = []

    # -- the layer schedule -----------------------------------------------------------------
    def layer_types(self, n_layers: int) -> list[str]:
        self._v4_types = self._schedule(n_layers)
        return ["sliding"] * n_layers  # every V4 layer attends over its window

    def _schedule(self, n_layers: int) -> list[str]:
        declared = self.cv.lookup("layer_types")[0]
        if isinstance(declared, list) and len(declared) >= n_layers:
            self.prov["layer_types"] = self.declared("layer_types")
            types = [str(t) for t in declared[:n_layers]]
            self.unknown_layer_types.update(t for t in types if t not in (SLIDING, CSA, HCA))
            return types
        ratios = self.cv.lookup("compress_ratios")[0]
        if isinstance(ratios, list) and len(ratios) >= n_layers:
            self.prov["layer_types"] = self.declared(
                "compress_ratios", "legacy per-layer ratios: 0 sliding, 4 CSA, 128 HCA"
            )
            types = [RATIO_TYPES.get(r, str(r)) for r in ratios[:n_layers]]
            self.unknown_layer_types.update(t for t in types if t not in (SLIDING, CSA, HCA))
            return types
        self.prov["layer_types"] = _config_default(
            "two heavily-compressed layers, then compressed-sparse and heavily-compressed "
            "alternating"
        )
        rest = [CSA if i % 2 else HCA for i in range(max(n_layers - 2, 0))]
        return ([HCA] * min(n_layers, 2) + rest)[:n_layers]

    def _rate(self, layer_type: str) -> int:
        legacy = {CSA: "compress_rate_csa", HCA: "compress_rate_hca"}[layer_type]
        value = self.read_int(f"compress_rate_{layer_type}", legacy)
        if value is not None:
            return value
        rates = self.cv.lookup("compress_rates")[0]
        if isinstance(rates, dict) and isinstance(rates.get(layer_type), int):
            self.prov[f"compress_rate_{layer_type}"] = self.declared("compress_rates")
            return int(rates[layer_type])
        # DeepseekV4Config.__post_init__ fills compress_rates from its class constant
        # default_compress_rates, whatever the other keys: the table's value is that constant
        found = self.cv.computed_default(f"compress_rates.{layer_type}")
        rate = int(found[0]) if found is not None else 0
        self.prov[f"compress_rate_{layer_type}"] = _config_default(
            f"default_compress_rates[{layer_type!r}] = {rate}"
        )
        return rate

    def _type_at(self, index: int) -> str:
        """The V4 type of a stack layer, or of an MTP block past the stack: the legacy
        `compress_ratios` entry there (DeepSeek-V4-Flash: 0, sliding), else sliding as
        DeepSeek's MTPBlock without a ratio is."""
        if index < len(self._v4_types):
            return self._v4_types[index]
        ratios = self.cv.lookup("compress_ratios")[0]
        if isinstance(ratios, list) and index < len(ratios):
            return RATIO_TYPES.get(ratios[index], str(ratios[index]))
        return SLIDING

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        return (*super().layer_key(index, layer_type), self._type_at(index))

    # -- attention ----------------------------------------------------------------------------
    def window(self) -> int | None:
        return self.read_int("window", "sliding_window", default=128,
                             why="DeepseekV4Config: sliding_window 128")

    def rotary_fraction(self) -> float | None:
        value = self.read("rotary_fraction", "partial_rotary_factor")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        head_dim = self.read_int("head_dim", "head_dim") or 0
        rope = self.read_int("qk_rope_head_dim", "qk_rope_head_dim")
        if rope and head_dim:
            return self.derive("rotary_fraction", rope / head_dim,
                               "qk_rope_head_dim / head_dim (DeepseekV4Config, legacy key)")
        return None

    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        spec = super().attention(index, layer_type)
        prov = dict(spec.provenance)
        # DeepseekV4Attention broadcasts one K=V head to every query head whatever
        # num_key_value_heads says (num_key_value_groups = num_attention_heads)
        self.cv.asked.add("num_key_value_heads")
        prov["num_kv_heads"] = FieldSource(
            kind="default",
            detail="transformers modeling_deepseek_v4: one shared K=V head (kv_proj → head_dim)",
        )
        return spec.model_copy(update={
            "kind": "mqa",
            "num_kv_heads": 1,
            "v_head_dim": spec.head_dim,
            "value_from_key": True,
            "kv_single": True,
            "sinks": True,
            "qkv_bias": False,
            "o_bias": False,
            "qk_norm": False,
            "q_lora_rank": self.read_int("q_lora_rank", "q_lora_rank", prov=prov),
            "o_groups": self.read_int("o_groups", "o_groups", prov=prov),
            "o_lora_rank": self.read_int("o_lora_rank", "o_lora_rank", prov=prov),
            "compressor": self._compressor(self._type_at(index), spec.head_dim),
            "provenance": prov,
        })

    def _compressor(self, layer_type: str, head_dim: int) -> CompressorSpec | None:
        if layer_type not in (CSA, HCA):
            return None
        rate = self._rate(layer_type)
        if layer_type == HCA:
            return CompressorSpec(rate=rate, head_dim=head_dim)
        return CompressorSpec(
            rate=rate,
            head_dim=head_dim,
            overlap=True,
            indexer_heads=self.read_int("index_n_heads", "index_n_heads") or 0,
            indexer_head_dim=self.read_int("index_head_dim", "index_head_dim") or 0,
            topk=self.read_int("index_topk", "index_topk"),
        )

    # -- storage -------------------------------------------------------------------------------
    def quantization(self) -> QuantizationSpec | None:
        """quantization_config, and the routed experts' own format where `expert_dtype` says
        (DeepSeek-V4-Flash: fp4 experts beside fp8 (ue8m0-scaled) linear weights)."""
        spec = super().quantization()
        if spec is None:
            return None
        # DeepSeek-V4's own format stores each 128×128 block's scale as one F8_E8M0 byte
        # (`layers.0.attn.wq_a.scale` F8_E8M0 [8, 32] beside F8_E4M3 [1024, 4096])
        spec = spec.model_copy(update={"scale_dtype": "float8_e8m0fnu"})
        declared = self.read("expert_dtype", "expert_dtype")
        method = EXPERT_METHODS.get(str(declared)) if declared is not None else None
        if method is None or method == spec.method:
            return spec
        return spec.model_copy(update={
            "component_methods": {"routed_experts": method},
            "component_sources": {"routed_experts": f"expert_dtype = {declared}"},
        })

    # -- FFN and the hyper-connections --------------------------------------------------------
    def is_moe_layer(self, index: int) -> bool:
        # routing, not shapes: which experts a token goes to, not how many parameters
        self.cv.asked.update(("mlp_layer_types", "num_hash_layers", "topk_method"))
        return True

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        width = self.read_int("expert_intermediate_size", "moe_intermediate_size") or (
            spec.expert_intermediate_size
        )
        self.cv.asked.add("n_shared_experts")
        return spec.model_copy(update={
            "expert_intermediate_size": width,
            "num_shared_experts": 1,
            "shared_intermediate_size": width,
            "router_bias": False,  # e_score_correction_bias is a buffer
            "router": "sqrtsoftplus" if self.read(
                "router", "scoring_func", default="sqrtsoftplus",
                why="DeepseekV4Config: scoring_func sqrtsoftplus") == "sqrtsoftplus"
            else spec.router,
        })

    def _streams(self) -> int:
        return self.read_int("hc_mult", "hc_mult", default=4,
                             why="DeepseekV4Config: hc_mult 4") or 4

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        hyper = hyper_connection_params(self._streams(), self.hidden_size())
        return spec.model_copy(update={"extra_params": 2 * hyper})  # attn_hc and ffn_hc

    def _hyper_head(self) -> int:
        """DeepseekV4HyperHead (and each MTPBlock's own): hc_fn (n × n·h), hc_base (n),
        hc_scale (1)."""
        n = self._streams()
        return n * n * self.hidden_size() + n + 1

    def mtp_layers(self) -> list[LayerSpec]:
        count = self.read_int("mtp_layers", "num_nextn_predict_layers") or 0
        n = self.num_layers()
        blocks = [self.layer(n + i, "sliding") for i in range(count)]
        # the block's own HyperHead; e_proj/h_proj and the three norms are the generic
        # MTP module's (archlint.analysis.params.count_from_spec)
        return [b.model_copy(update={"extra_params": b.extra_params + self._hyper_head()})
                for b in blocks]

    def build(self):  # type: ignore[no-untyped-def]
        spec = super().build()
        head = self._hyper_head()
        return spec.model_copy(update={"extra_params": {
            **spec.extra_params, "other": spec.extra_params.get("other", 0) + head,
        }})


DEEPSEEK_V4_ADAPTERS: tuple[type[Adapter], ...] = (DeepseekV4,)
