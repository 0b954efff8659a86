"""GLM-5-Next's language model (`glm5_next_text`; transformers 5.23 `modeling_glm5_next`,
Glm5NextTextConfig), inside the `glm5_next` vision-language wrapper.

Kimi-Linear's stack with DeepSeek-V3.2's sparse attention and DeepSeek-V4's residual streams:

- `layer_types`: `linear_attention` layers are Kimi Delta Attention (q/k/v, a short conv over
  them, low-rank forget and output gates, `linear_*` keys or `linear_attn_config`);
  `indexed_attention` layers are MLA without RoPE (qk_rope_head_dim 0, so the config's
  `head_dim`, which the class sets to the RoPE size, is 0) with a DSA lightning indexer where
  `indexer_types` says "full" (archlint/families/dsa.py). Without a list the class puts MLA at
  every index i with i % 4 == 3.
- the indexer pools its keys `index_kpool` at a time: a gate (index_head_dim × h) and a
  per-slot bias (index_kpool × index_head_dim) beside DSA's wq_b, wk, k_norm, weights_proj;
- every block mixes `hc_mult` residual streams through two hyper-connections (attention and
  MLP: DeepSeek-V4's formula); the final HyperHead holds no parameters;
- `mlp_layer_types` dense then sparse: DeepSeek-V3's MoE with shared experts, a router of one
  weight (no correction-bias parameter).
"""

from __future__ import annotations

from typing import ClassVar

from archlint.families import dsa, mtp
from archlint.families.attention_variants import KimiLinear
from archlint.families.base import Adapter
from archlint.families.deepseek_v4 import hyper_connection_params
from archlint.spec import FFNSpec, FieldSource, LayerSpec


class Glm5NextText(KimiLinear):
    name = "glm5_next_text"
    model_types: ClassVar[tuple[str, ...]] = ("glm5_next_text",)
    LAYER_TYPE_NAMES: ClassVar[dict[str, str]] = {
        **Adapter.LAYER_TYPE_NAMES, **dict.fromkeys(dsa.INDEXED_NAMES, "full"),
    }

    def default_layer_types(self, n_layers: int) -> list[str]:
        self.prov["layer_types"] = FieldSource(
            kind="default",
            detail="transformers Glm5NextTextConfig: MLA (indexed) where i % 4 == 3",
        )
        return ["full" if i % 4 == 3 else "linear" for i in range(n_layers)]

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        return spec.model_copy(update={"router_bias": False}) if spec.kind == "moe" else spec

    def _streams(self) -> int:
        return self.read_int("hc_mult", "hc_mult", default=4,
                             why="Glm5NextTextConfig: hc_mult 4") or 4

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        spec = super().layer(index, layer_type)
        extra = 2 * hyper_connection_params(self._streams(), self.hidden_size())
        ix = spec.attention.indexer
        if ix is not None:
            pool = self.read_int("index_kpool", "index_kpool", default=16,
                                 why="Glm5NextTextConfig: index_kpool 16") or 0
            extra += ix.head_dim * self.hidden_size() + pool * ix.head_dim
        self.cv.asked.update(("index_kpool_always_select_tail", "head_dim"))
        return spec.model_copy(update={"extra_params": spec.extra_params + extra})

    def mtp_layers(self) -> list[LayerSpec]:
        """GLM-5.3-Flash's `num_nextn_predict_layers` layer at model.language_model.layers.45:
        transformers' MTP form (enorm, hnorm, eh_proj, shared_head.norm) around an indexed
        attention block with the MoE, and no hyper-connections (a public engine that loads
        it from the checkpoint reads exactly those tensors and feeds the fused hidden to
        every stream of the head), so the stack block's two hyper-connections come off."""
        streams = 2 * hyper_connection_params(self._streams(), self.hidden_size())
        return [block.model_copy(update={"extra_params": block.extra_params - streams})
                for block in mtp.modules(self)]


GLM5_NEXT_ADAPTERS: tuple[type[Adapter], ...] = (Glm5NextText,)
