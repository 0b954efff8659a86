"""Which decoder layers carry the MoE block and which a dense MLP: one reading for every
dialect, where a dialect is only the names of its keys.

transformers 5 states the pattern as `mlp_layer_types` (one entry per layer; the decoder layer
builds the MoE block where the entry is "sparse", `modeling_deepseek_v32.py`,
`modeling_glm4_moe_lite.py`, `modeling_hy_v3.py`, ...; DeepSeek-V4's "moe" / "hash_moe" are
both routed). A config without the list states it with the older keys its configuration class
derives the list from (`configuration_<type>.py`, `__post_init__`):

- a dense prefix: `first_k_dense_replace` (DeepSeek, GLM-4-MoE), `num_dense_layers` (AFMoE,
  LFM2-MoE), `n_dense_layers`, `dense_mlp_idx` (Inkling): layers below it are dense;
- `moe_layer_freq`: an int, MoE where `layer % freq == 0` past the prefix (DeepSeek-V2 / AXK1 /
  dots3 and vLLM's DeepseekV2DecoderLayer), or a per-layer list of 0/1 flags (MiniMax-M3);
- `decoder_sparse_step` / `interleave_moe_layer_step`: MoE where `(layer + 1) % step == 0`
  (Qwen2/3-MoE, Llama 4), with `mlp_only_layers` listing layers kept dense (Qwen-MoE);
- `moe_layers_enum`: the MoE layers' indices, comma-separated (Step-3.7's hub configs).

Declared keys come first: a declared list, then declared older keys; a config that declares
neither takes its configuration class's default list (generated table) when it is as long as
the stack, else the older keys' defaults. A default list of another length (a config with a
different layer count and no key) is extended the way every such class builds it: its dense
prefix kept, the rest routed; any other default shape is not extrapolated and the layers stay
routed with a note.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archlint.spec import FieldSource

if TYPE_CHECKING:
    from archlint.families.base import Adapter

#: `mlp_layer_types` entries that build the routed block
ROUTED_NAMES = frozenset({"sparse", "moe", "hash_moe"})
DENSE_NAMES = frozenset({"dense"})
DENSE_PREFIX_KEYS = ("first_k_dense_replace", "num_dense_layers", "n_dense_layers", "dense_mlp_idx")
STEP_KEYS = ("decoder_sparse_step", "interleave_moe_layer_step")
LEGACY_KEYS = (*DENSE_PREFIX_KEYS, "moe_layer_freq", *STEP_KEYS, "mlp_only_layers",
               "moe_layers_enum")


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if float(value).is_integer() else None


def _from_list(adapter: Adapter, value: list[Any]) -> list[bool]:
    out = []
    for entry in value:
        name = str(entry).lower()
        if name not in ROUTED_NAMES and name not in DENSE_NAMES:
            adapter.notes.append(f"mlp_layer_types entry {entry!r} not understood; read as MoE")
            adapter.unknown_layer_types.add(str(entry))
        out.append(name not in DENSE_NAMES)
    return out


def _declared(adapter: Adapter, key: str) -> tuple[Any, bool]:
    """(value, declared in the config rather than a transformers default)."""
    value, found, from_default = adapter.cv.lookup_sourced(key)
    return value, found is not None and not from_default


def _legacy(adapter: Adapter, n_layers: int) -> list[bool]:
    """The pattern the older keys state (each at its declared value, else its default).
    Provenance under the fields `first_k_dense_replace` and `moe_layer_freq`, whichever key
    of each group answered."""
    prefix = _int(adapter.read("first_k_dense_replace", *DENSE_PREFIX_KEYS)) or 0
    routed = [i >= prefix for i in range(n_layers)]
    adapter.read("moe_layer_freq", "moe_layer_freq", *STEP_KEYS)
    freq = adapter.cv.lookup("moe_layer_freq")[0]
    if isinstance(freq, list) and len(freq) == n_layers:
        routed = [r and bool(f) for r, f in zip(routed, freq, strict=True)]
    elif (step := _int(freq)) is not None and step > 1:
        routed = [r and i % step == 0 for i, r in enumerate(routed)]
    for key in STEP_KEYS:
        step = _int(adapter.cv.lookup(key)[0])
        if step is not None and step > 1:
            routed = [r and (i + 1) % step == 0 for i, r in enumerate(routed)]
    only_mlp = adapter.cv.lookup("mlp_only_layers")[0]
    if isinstance(only_mlp, list):
        routed = [r and i not in only_mlp for i, r in enumerate(routed)]
    enum = adapter.cv.lookup("moe_layers_enum")[0]
    if isinstance(enum, (str, list)) and enum:
        items = enum.split(",") if isinstance(enum, str) else enum
        chosen = {int(i) for i in items if str(i).strip().lstrip("-").isdigit()}
        routed = [r and i in chosen for i, r in enumerate(routed)]
    return routed


def _extend(adapter: Adapter, default: list[bool], n_layers: int) -> list[bool]:
    """A default list of another length: its dense prefix, then routed layers."""
    prefix = next((i for i, routed in enumerate(default) if routed), len(default))
    if not all(default[prefix:]):
        adapter.notes.append(
            "mlp_layer_types: the default pattern is not a dense prefix and the config's "
            "layer count differs from it; every layer read as MoE"
        )
        prefix = 0
    return [i >= prefix for i in range(n_layers)]


def moe_layers(adapter: Adapter, n_layers: int) -> list[bool]:
    """Per layer: True where the layer's MLP is the routed (MoE) block."""
    declared, is_declared = _declared(adapter, "mlp_layer_types")
    if is_declared and isinstance(declared, list) and len(declared) == n_layers:
        adapter.prov["moe_layers"] = adapter.declared("mlp_layer_types")
        return _from_list(adapter, declared)
    if any(_declared(adapter, key)[1] for key in LEGACY_KEYS):
        return _legacy(adapter, n_layers)
    found = adapter.cv.computed_default("mlp_layer_types")
    default = found[0] if found is not None else None
    if isinstance(default, list) and default:
        adapter.prov["moe_layers"] = FieldSource(
            kind="default", key="mlp_layer_types", detail=adapter.cv.defaults_source
        )
        pattern = _from_list(adapter, default)
        return pattern if len(pattern) == n_layers else _extend(adapter, pattern, n_layers)
    return _legacy(adapter, n_layers)
