"""DeepSeek Sparse Attention (DSA): which MLA layers run a lightning indexer, and its size.

One reading for every dialect that builds it (transformers 5.23: `modeling_deepseek_v32.py`,
`modeling_glm_moe_dsa.py`, `modeling_hy_v4.py`, `modeling_axk2.py`, ... all build the same
`Indexer`: wq_b from the q latent, wk with a LayerNorm, a per-head weights_proj, sized by
`index_n_heads` × `index_head_dim`, top `index_topk` tokens):

- a layer has an indexer where its `layer_types` entry is "indexed_attention" (or a legacy
  name transformers remaps to it: "deepseek_sparse_attention") (every layer
  when the config has no layer_types: each configuration class fills the list so);
- `indexer_types` ("full" / "shared", GLM-5 and Hunyuan-V4) says which of those layers run
  their own indexer; a "shared" layer reuses the previous full layer's top-k mask, so it has
  neither the indexer's weights nor its cached keys (its cache layer holds the latent only).
  A config without the list states it as GlmMoeDsaConfig reads it: `index_topk_pattern`
  ("F"/"S" per layer), else `index_topk_freq` and `index_skip_topk_offset` (full where
  max(i − offset + 1, 0) % freq == 0); neither: the class's default list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archlint.spec import IndexerSpec

if TYPE_CHECKING:
    from archlint.families.base import Adapter

INDEXED = "indexed_attention"
#: the names a config may write for it: transformers' `_LEGACY_LAYER_TYPE_REMAP` reads
#: "deepseek_sparse_attention" (GLM-5 checkpoints) and "qwen_sparse_attention" as it
INDEXED_NAMES = (INDEXED, "deepseek_sparse_attention", "qwen_sparse_attention")


def _declared(adapter: Adapter, key: str) -> Any:
    value, found, from_default = adapter.cv.lookup_sourced(key)
    return value if found is not None and not from_default else None


def _full_indexers(adapter: Adapter, n_layers: int) -> list[bool]:
    """Per layer: runs its own indexer (True) or shares the previous one's mask."""
    declared = _declared(adapter, "indexer_types")
    if isinstance(declared, list) and len(declared) == n_layers:
        return [str(t) != "shared" for t in declared]
    pattern = _declared(adapter, "index_topk_pattern")
    if isinstance(pattern, (str, list)) and len(pattern) == n_layers:
        return [str(c).upper() not in ("S", "SHARED") for c in pattern]
    freq = _declared(adapter, "index_topk_freq")
    offset = _declared(adapter, "index_skip_topk_offset")
    if isinstance(freq, int) or isinstance(offset, int):
        step = max(freq if isinstance(freq, int) else 1, 1)
        skip = offset if isinstance(offset, int) else 2
        return [max(i - skip + 1, 0) % step == 0 for i in range(n_layers)]
    found = adapter.cv.computed_default("indexer_types")
    default = found[0] if found is not None else None
    if isinstance(default, list) and len(default) == n_layers:
        return [str(t) != "shared" for t in default]
    if isinstance(default, list) and "shared" in default:
        adapter.notes.append(
            "indexer_types: the default pattern has shared layers and another layer count; "
            "every DSA layer read with its own indexer"
        )
    return [True] * n_layers


def indexed_layers(adapter: Adapter, n_layers: int) -> list[bool]:
    """Per layer: DSA attention (its `layer_types` entry, or every layer without a list)."""
    kinds = adapter.cv.lookup("layer_types")[0]
    if isinstance(kinds, list) and len(kinds) == n_layers:
        return [str(k) in INDEXED_NAMES for k in kinds]
    return [True] * n_layers


def indexer(adapter: Adapter, index: int, n_layers: int) -> IndexerSpec | None:
    """The layer's own indexer, or None (no DSA, or a layer sharing another's mask)."""
    heads = adapter.read_int("indexer.num_heads", "index_n_heads")
    head_dim = adapter.read_int("indexer.head_dim", "index_head_dim")
    if not heads or not head_dim or n_layers <= 0:
        return None
    own = [a and b for a, b in zip(
        indexed_layers(adapter, n_layers), _full_indexers(adapter, n_layers), strict=True
    )]
    # a multi-token-prediction block past the stack is a DSA layer of its own when any is
    if not (own[index] if index < n_layers else any(own)):
        return None
    topk = adapter.read_int("indexer.topk", "index_topk") or 0
    return IndexerSpec(num_heads=heads, head_dim=head_dim, topk=topk)
