"""An example family pack, as the owner of a custom architecture would ship it.

"acme_hybrid" is a made-up architecture whose repo has `auto_map` and its own modeling code:
archlint never runs that code; this pack tells it how to read the config. Every third layer
is softmax GQA attention, the others a constant-state "acme_scan" mixer whose parameters and
state are given below; the FFN is a dense SwiGLU of `ffn_width`.
"""

from __future__ import annotations

from archlint.families.base import Adapter
from archlint.mixers import Mixer, State
from archlint.spec import AttentionSpec, FFNSpec, RecurrentSpec


class AcmeScan(Mixer):
    """in_proj h → 2·d, a d × n state, out_proj d → h (no biases)."""

    variant = "acme_scan"

    def params(self, r: RecurrentSpec, hidden: int) -> int:
        return hidden * 2 * r.d_inner + r.d_inner * r.d_state + r.d_inner * hidden

    def state(self, r: RecurrentSpec) -> State:
        return State(conv=0, recurrent=r.d_inner * r.d_state)


class AcmeHybrid(Adapter):
    name = "acme_hybrid"
    model_types = ("acme_hybrid",)
    tie_default = False

    def layer_types(self, n_layers: int) -> list[str]:
        period = self.read_int("attn_every", "attn_every", default=3) or 3
        return ["full" if (i + 1) % period == 0 else "linear" for i in range(n_layers)]

    def linear_attention(self, index: int) -> AttentionSpec:
        spec = RecurrentSpec(
            variant="acme_scan",
            d_inner=self.read_int("scan_width", "scan_width") or 0,
            d_state=self.read_int("scan_state", "scan_state") or 0,
        )
        return AttentionSpec(kind="linear", positional="none", linear=spec)

    def ffn(self, index: int) -> FFNSpec:
        width = self.read_int("intermediate_size", "ffn_width") or 0
        return FFNSpec(kind="dense", gated=True, intermediate_size=width)


ADAPTERS = (AcmeHybrid,)
MIXERS = (AcmeScan(),)
