"""Multi-token-prediction (MTP) modules: the one form transformers 5.23 builds them in
(`modeling_layers.MtpLayer` / `MtpModel`, the DeepSeek-V3 report §2.2 design), and what a
family's checkpoints store beside it.

A config states the module count as `num_nextn_predict_layers` (transformers' attribute
`num_mtp_layers` maps onto it) or, in Qwen3.5, `mtp_num_hidden_layers`. Each module is

- `enorm` and `hnorm` (h each) over the next token's embedding and the previous hidden state,
  `eh_proj` (2h → h, no bias) over their concatenation, and a post norm (h: DeepSeek's and
  GLM's `shared_head.norm`, MiMo's `final_layernorm`, Qwen3-Next's `mtp.norm`):
  3h + 2h², `archlint.analysis.params.mtp_module_params`. A config with
  `chain_hidden_post_norm` (Inkling) builds no post norm per module (MtpModel), and one
  shared `chain_norm` when it is true (`ModelSpec.mtp_module_norms`);
- one decoder block of the main model's kind (`mtp_block`). Its attention and MLP kind are
  what `PreTrainedConfig.get_mtp_config` gives: `mtp_layer_types` / `mtp_mlp_layer_types`
  where declared, the entries past the stack of a list padded with them (Step's hub configs
  pad `layer_types`; their `moe_layers_enum` leaves the MTP layers dense), else full
  attention and the routed MLP (get_mtp_config sets `first_k_dense_replace` to 0).

`MtpModel` shares the embedding and the LM head with the main model; some checkpoints still
store copies with every module (`copies`): DeepSeek-V3/R1's layer 61 holds embed_tokens and
shared_head.head (vocab × h each, R1's tensor table), Step-3.5's depths their own
`transformer.shared_head.output` (vLLM's step3p5_mtp SharedHead, NeMo's step3p7 MTP "an
MTP-local shared head"); GLM-5's layer 78 holds neither (GLM-5.2's 791 tensors: the block,
enorm, hnorm, eh_proj and shared_head.norm).

The modules run only for speculative decoding: outside the active parameters, their KV cache
beside the main model's, not in it (`archlint.analysis.memory`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archlint.families.moe_layers import ROUTED_NAMES, moe_layers
from archlint.spec import LayerSpec

if TYPE_CHECKING:
    from archlint.families.base import Adapter

#: the config keys that state how many MTP modules the checkpoint holds
COUNT_KEYS = ("num_nextn_predict_layers", "num_mtp_layers", "mtp_num_hidden_layers")


def module_count(adapter: Adapter) -> int:
    return adapter.read_int("mtp_layers", *COUNT_KEYS) or 0


def stack_entries(adapter: Adapter, value: object, n: int) -> object:
    """A per-layer list with the stack's entries only: a config that pads it with its MTP
    modules' entries (Step-3.5's `layer_types`) has them cut off, as Step3p7TextConfig does."""
    if isinstance(value, list) and len(value) > n and len(value) == n + module_count(adapter):
        return value[:n]
    return value


def _past_stack(adapter: Adapter, key: str, mtp_key: str, n: int, count: int) -> list | None:
    """The MTP modules' entries of a per-layer list: `mtp_key` when declared, else the tail
    of `key` when the config pads it past the stack with them."""
    for name, start in ((mtp_key, 0), (key, n)):
        value = adapter.cv.lookup(name)[0]
        if isinstance(value, list) and len(value) == start + count:
            return value[start:]
    return None


def _routed(adapter: Adapter, n: int, count: int, default: bool) -> list[bool]:
    """Per module: True where its block has the routed MLP (`default` where no key says)."""
    listed = _past_stack(adapter, "mlp_layer_types", "mtp_mlp_layer_types", n, count)
    if listed is not None:
        return [str(kind).lower() in ROUTED_NAMES for kind in listed]
    if adapter.cv.lookup("moe_layers_enum")[0]:
        # the enumeration names the routed layers over the padded range (Step3p7TextConfig)
        return moe_layers(adapter, n + count)[n:]
    return [default] * count


def modules(
    adapter: Adapter,
    copies: int = 0,
    layer_type: str = "full",
    routed: bool = True,
    count: int | None = None,
    kinds: list[str] | None = None,
) -> list[LayerSpec]:
    """The config's MTP modules (`count`, else the count keys) as blocks past the stack, of
    `kinds` attention, else the kinds the config lists, else `layer_type`, with the routed
    MLP or not (`routed`) where no key says, each with `copies` stored parameters beyond
    transformers' form (module docstring)."""
    count = module_count(adapter) if count is None else count
    if not count:
        return []
    n = adapter.num_layers()
    adapter.cv.asked.update(("mtp_layer_types", "mtp_mlp_layer_types"))
    listed = _past_stack(adapter, "layer_types", "mtp_layer_types", n, count)
    if kinds is None:
        kinds = (
            [adapter._normalise_layer_type(str(kind)) for kind in listed]
            if listed is not None else [layer_type] * count
        )
    if adapter.num_experts() > 1:
        adapter.is_moe_layer(0)
        if adapter._moe_pattern is not None:
            # the base reader's is_moe_layer reads the stack's pattern, then these entries
            # (an adapter with its own rule answers for the indices past the stack itself)
            pattern = adapter._moe_pattern[:n]
            adapter._moe_pattern = [*pattern, *_routed(adapter, n, count, routed)]
    blocks = [adapter.layer(n + i, kind) for i, kind in enumerate(kinds)]
    if copies:
        blocks = [b.model_copy(update={"extra_params": b.extra_params + copies}) for b in blocks]
    return blocks
