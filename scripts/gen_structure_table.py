"""Generate archlint/families/transformers_structure.json.gz: per model_type, the structural
facts of transformers' modeling code that no config key states — whether the MLP is gated,
which norm the blocks use and whether it has a bias, which projections carry biases, how many
norms a block holds, whether positions are a learned table.

archlint's generic reader (a model type with no adapter) takes these facts as its defaults,
so a standard model type is read the way transformers builds it. Nothing at runtime imports
transformers: this script is how that knowledge reaches the package.

How a fact is observed: the type's default config, cut to 2 layers, is built on the meta
device with the model class transformers registers for it (causal LM, else the base model);
block 0's modules are inspected by kind (norm classes, linear layers inside the MLP and the
attention module) and by shape (a linear whose output is 2 × intermediate_size is a fused
gate+up projection). Types that do not build this way are left out (the reader then keeps
its own defaults, and coverage says the type has no adapter).

Encoder-only types also get the facts of the stack around the blocks, read off their base
model (the class the conformance harness and a checkpoint's encoder hold), from the modules
that own parameters outside the block list: a norm on the embedding (`embedding_norm`), a
norm after the last block (`final_norm`), a pooler (`pooler`), a linear that projects a
narrower embedding up to the hidden size (`embedding_projection`), and the config key whose
default is the embedding width when it is not the hidden size (`embedding_width_key`:
ELECTRA's `embedding_size`, RemBERT's `input_embedding_size`). `dialect` is "bert" when every
parameter of the base model is one the BERT reader counts: token / position / segment tables
(and a relative-position bias), those norms and that pooler, and blocks of exactly q, k, v,
output, FFN-in and FFN-out linears, all biased, with two biased LayerNorms.

`heads` describes the pretraining heads a checkpoint's `architectures` names (the type's
masked-LM and pretraining classes): whether the encoder inside keeps its pooler, the shapes
of the head's own parameters in symbols (D hidden, E embedding width, V vocabulary, I
intermediate; a literal for a fixed size, ELECTRA's 1-logit discriminator), and the output
projection's shape, which is stored only when not tied to the token table.

    python scripts/gen_structure_table.py        # needs the test extra (transformers, torch)
"""

from __future__ import annotations

import gzip
import json
import re
import signal
import sys
import warnings
from pathlib import Path
from typing import Any

OUT = (Path(__file__).resolve().parents[1] / "archlint" / "families"
       / "transformers_structure.json.gz")
LAYER_RE = re.compile(r"(?:^|\.)(?:layers|h|layer|blocks|block)\.0$")
MLP_RE = re.compile(r"(mlp|feed_forward|ffn|intermediate|fc|dense_h_to_4h)", re.IGNORECASE)
ATTN_RE = re.compile(r"(attn|attention)", re.IGNORECASE)
LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")


def _timeout(*_: Any) -> None:
    raise TimeoutError("build took too long")


def default_config(model_type: str) -> Any:
    """The type's default config, completed where its defaults leave the modules unbuildable
    (None head_dim, KV heads or vocabulary) with the values a real checkpoint of the type
    declares: the conformance harness's completions (fixtures/zoo/SOURCES.json), so that
    the facts are read off the same model the harness counts."""
    from transformers import AutoConfig

    from archlint.families import tf_tables
    from tests.conformance import run, tf_side

    entry = run.completions().get(model_type)
    if entry is None:
        return AutoConfig.for_model(model_type)
    defaults = run.filled_defaults(tf_tables.defaults_for(model_type) or {})
    return tf_side.build_config(model_type, run.completed_defaults(defaults, entry))


def _build(model_type: str) -> Any:
    import torch
    import transformers

    cfg = default_config(model_type)
    text = getattr(cfg, "text_config", None) or cfg
    for key in LAYER_KEYS:
        if isinstance(getattr(text, key, None), int):
            setattr(text, key, 2)
    for auto in (transformers.AutoModelForCausalLM, transformers.AutoModel):
        try:
            with torch.device("meta"):
                return auto.from_config(cfg), text
        except Exception:
            continue
    return None, text


def _wrapped_build(model_type: str) -> tuple[Any, Any, Any]:
    """A language model transformers builds only inside a multimodal wrapper (a `component`
    type: Cosmos3-Edge's cosmos3_edge_text, Kosmos-2's text model): the first wrapper whose
    text_config is of this type, built at its defaults with the text layers cut to 2 and
    the class the conformance harness counts, and its `get_decoder()`. (None, text, None)
    where no wrapper builds or none tells its language model apart."""

    from archlint.families import tf_tables

    for wrapper in tf_tables.model_types():
        if tf_tables.category(wrapper) != "multimodal" or tf_tables.sub_configs(wrapper).get(
            "text_config"
        ) != model_type:
            continue
        try:
            cfg = default_config(wrapper)
            model, lm = _harness_build(wrapper, cfg, cfg.text_config)
        except Exception:
            continue
        if lm is not None:
            return lm, cfg.text_config, model
    return None, None, None


def _harness_build(model_type: str, cfg: Any, text: Any) -> tuple[Any, Any]:
    """The class the conformance harness counts, built from `cfg` with the language model's
    layers (`text`: its config) cut to 2, and that model's `get_decoder()` (None: none)."""
    from archlint.families import tf_tables
    from tests.conformance import tf_side

    for key in LAYER_KEYS:
        if isinstance(getattr(text, key, None), int):
            setattr(text, key, 2)
    cls = tf_side.model_class_for(tf_tables.model_classes(model_type), "multimodal")
    model = tf_side.build_model(cls, cfg) if cls else None
    return model, tf_side._language_model(model) if model is not None else None


def _root_build(model_type: str) -> tuple[Any, Any, Any]:
    """A decoder wrapper whose language model reads the root keys (GIT, Idefics): the
    harness's class at the defaults (layers cut to 2), and its `get_decoder()` with the
    children that are towers (scripts/gen_tower_table.py `_towers_inside`: GIT's image
    encoder) replaced by empty modules, so that only the language model's blocks, norms and
    tables are looked at; the head is the wrapper's output embedding (GIT's `output`)."""
    import torch

    from archlint.families import tf_tables
    from scripts.gen_tower_table import NoLanguageModel, _towers_inside
    from tests.conformance.run import filled_defaults

    cfg = default_config(model_type)
    model, lm = _harness_build(model_type, cfg, cfg)
    if lm is None:
        return None, cfg, None
    try:
        inside = _towers_inside(model_type, filled_defaults(tf_tables.defaults_for(model_type)))
    except NoLanguageModel:
        inside = set()
    for name in inside:
        setattr(lm, name, torch.nn.Module())

    class Outer:  # the wrapper's head where `facts` looks for one
        lm_head = model.get_output_embeddings()

    return lm, cfg, Outer


def _linears(module: Any) -> list[tuple[str, Any]]:
    import torch

    return [
        (name, m)
        for name, m in module.named_modules()
        if isinstance(m, torch.nn.Linear) or type(m).__name__ == "Conv1D"
    ]


def _out(m: Any) -> int:
    return int(getattr(m, "out_features", None) or getattr(m, "nf", 0) or 0)


def facts(
    model_type: str, decoder: bool = False, wrapped: bool = False, root: bool = False
) -> dict[str, Any] | None:
    """Block 0's facts (and a decoder's stack norms). `wrapped`: the type's language model
    as its wrapper builds it (`_wrapped_build`), the head being the wrapper's; `root`: a
    wrapper whose language model reads its root keys (`_root_build`)."""
    if wrapped:
        model, text, outer = _wrapped_build(model_type)
    elif root:
        model, text, outer = _root_build(model_type)
    else:
        model, text = _build(model_type)
        outer = model
    if model is None:
        return None
    block0 = next((name for name, _ in model.named_modules() if LAYER_RE.search(name)), None)
    if block0 is None:
        return None
    layer = model.get_submodule(block0)
    # a sparse-attention indexer's own norms (DSA's q_input_norm, k_norm) are the indexer's
    norms = [m for n, m in layer.named_modules()
             if ("norm" in type(m).__name__.lower() or type(m).__name__ == "LayerNorm")
             and "indexer" not in n]
    hidden = getattr(text, "hidden_size", None)
    # block norms act on the hidden size; q/k norms inside attention act on a head
    weighted = [
        m for m in norms
        if getattr(m, "weight", None) is not None and (not hidden or m.weight.shape[0] == hidden)
    ]
    inter = getattr(text, "intermediate_size", None) or getattr(text, "n_inner", None)
    mlp_names = [n for n, _ in layer.named_children() if MLP_RE.search(n)]
    mlp_linears = [lin for n in mlp_names for lin in _linears(getattr(layer, n))]
    attn_names = [n for n, _ in layer.named_children() if ATTN_RE.search(n)]
    attn_linears = [lin for n in attn_names for lin in _linears(getattr(layer, n))]
    out: dict[str, Any] = {
        "norms_per_layer": len(weighted),
        "norm": "layernorm" if any("rms" not in type(m).__name__.lower() for m in weighted)
        else "rmsnorm",
        "norm_bias": any(getattr(m, "bias", None) is not None for m in weighted),
    }
    experts = any("expert" in n for n, _ in layer.named_parameters())
    if mlp_linears and not experts:  # an MoE block's linears are its router, not an MLP
        fused = bool(inter) and any(_out(m) == 2 * inter for _, m in mlp_linears)
        out["gated_mlp"] = len(mlp_linears) >= 3 or fused
        out["mlp_bias"] = any(getattr(m, "bias", None) is not None for _, m in mlp_linears)
    head_dim = getattr(text, "head_dim", None) or (
        hidden // text.num_attention_heads
        if hidden and getattr(text, "num_attention_heads", None) else None
    )
    attn_norms = [
        m for n in attn_names for _, m in getattr(layer, n).named_modules()
        if "norm" in type(m).__name__.lower() and getattr(m, "weight", None) is not None
        and m.weight.shape[0] == head_dim  # per-head q/k norms only
    ]
    out["qk_norm"] = bool(attn_norms)
    if attn_linears:
        last = attn_linears[-1][1]
        inputs = attn_linears[:-1]
        out["qkv_bias"] = any(getattr(m, "bias", None) is not None for _, m in inputs)
        out["o_bias"] = getattr(last, "bias", None) is not None
    head = getattr(outer, "lm_head", None)
    out["head_bias"] = getattr(head, "bias", None) is not None
    out.update(_position_table(model, text))
    if decoder:
        out.update(_stack_norms(model, block0))
    return out


def _stack_norms(model: Any, block0: str) -> dict[str, bool]:
    """A decoder's norms outside its blocks: on the embedding (`embedding_norm`: BLOOM's
    word_embeddings_layernorm, TrOCR's layernorm_embedding) and after the last block
    (`final_norm`: absent in post-norm stacks such as OpenAI GPT)."""
    stack = block0[: -len("0")]
    out = {"embedding_norm": False, "final_norm": False}
    for path, (cls, shapes) in _own_params(model).items():
        if path.startswith(stack) or not _is_norm(path, cls) or len(shapes.get("weight", ())) != 1:
            continue
        out["embedding_norm" if "emb" in path.lower() else "final_norm"] = True
    return out


def _position_table(model: Any, text: Any) -> dict[str, Any]:
    """`learned_positions`: a learned table of at least max_position_embeddings rows (an
    nn.Embedding or a subclass: OPT's OPTLearnedPositionalEmbedding is one); `position_offset`:
    the rows it keeps beyond max_position_embeddings (OPT, BioGPT, TrOCR reserve 2)."""
    import torch

    positions = getattr(text, "max_position_embeddings", None) or 1
    tables = [
        m for name, m in model.named_modules()
        if isinstance(m, torch.nn.Embedding) and ("pos" in name or name.endswith("wpe"))
        and m.num_embeddings >= positions
    ]
    out: dict[str, Any] = {"learned_positions": bool(tables)}
    if tables and tables[0].num_embeddings > positions:
        out["position_offset"] = int(tables[0].num_embeddings - positions)
    return out


def _own_params(model: Any) -> dict[str, tuple[str, dict[str, tuple[int, ...]]]]:
    """path → (module class, {param name: shape}) for modules that own parameters."""
    out = {}
    for name, module in model.named_modules():
        shapes = {n: tuple(p.shape) for n, p in module.named_parameters(recurse=False)}
        if shapes:
            out[name] = (type(module).__name__, shapes)
    return out


def _is_norm(path: str, cls: str) -> bool:
    last = path.rsplit(".", 1)[-1].lower()
    return "norm" in cls.lower() or "norm" in last or last in ("ln", "ln_f")


def _width_key(defaults: dict[str, Any], width: int, hidden: int) -> str | None:
    """The config key whose default is the embedding width (when not the hidden size)."""
    if width == hidden:
        return None
    keys = [k for k, v in defaults.items() if v == width and not isinstance(v, bool)]
    keys.sort(key=lambda k: ("emb" not in k, "input" not in k, k))
    return keys[0] if keys else None


def encoder_facts(model_type: str) -> dict[str, Any]:
    """The stack around an encoder's blocks (see the module docstring), on its base model."""
    import torch
    import transformers

    from archlint.families import tf_tables

    class_name = tf_tables.model_classes(model_type).get("base")
    if class_name is None or not hasattr(transformers, class_name):
        return {}
    cfg = default_config(model_type)
    for key in LAYER_KEYS:
        if isinstance(getattr(cfg, key, None), int):
            setattr(cfg, key, 2)
    with torch.device("meta"):
        model = getattr(transformers, class_name)(cfg)
    modules = _own_params(model)
    block0 = next((n for n, _ in model.named_modules() if LAYER_RE.search(n)), None)
    if block0 is None:
        return {}
    stack = block0[: -len("0")]
    hidden = getattr(cfg, "hidden_size", None) or 0
    try:
        inputs = model.get_input_embeddings()
    except Exception:
        inputs = None
    weight = getattr(inputs, "weight", None)
    width = int(weight.shape[1]) if weight is not None and weight.dim() == 2 else hidden
    outside = {p: v for p, v in modules.items() if not p.startswith(stack)}
    facts: dict[str, Any] = {"embedding_norm": False, "final_norm": False, "pooler": False,
                             "embedding_projection": False}
    rest = {}
    for path, (cls, shapes) in outside.items():
        low = path.lower()
        weight = shapes.get("weight", ())
        if _is_norm(path, cls) and len(weight) == 1:
            facts["embedding_norm" if "emb" in low else "final_norm"] = True
        elif "pooler" in low and weight == (hidden, hidden):
            facts["pooler"] = True
        elif "emb" in low and weight == (hidden, width) and (width != hidden or "proj" in low):
            facts["embedding_projection"] = True
        else:
            rest[path] = (cls, shapes)
    positions = getattr(cfg, "max_position_embeddings", None) or 1
    # by shape, not class: I-BERT's QuantEmbedding is no nn.Embedding; a table as wide as
    # the tokens' (RoFormer's sinusoidal table is one head wide: not a position table)
    facts["learned_positions"] = any(
        "position" in p.lower() and len(v[1].get("weight", ())) == 2
        and v[1]["weight"][0] >= positions and v[1]["weight"][1] == width
        for p, v in outside.items()
    )
    defaults = tf_tables.defaults_for(model_type) or {}
    key = _width_key(defaults, width or 0, hidden or 0)
    if key:
        facts["embedding_width_key"] = key
    if _bert_blocks(modules, block0, cfg) and _bert_tables(rest, cfg, width):
        facts["dialect"] = "bert"
    return facts


def _symbol(dim: int, sizes: dict[str, int]) -> str | int:
    for name, value in sizes.items():
        if dim == value:
            return name
    return dim


def head_facts(model_type: str) -> dict[str, Any]:
    """The masked-LM / pretraining heads of an encoder type (see the module docstring)."""
    import torch
    import transformers

    from archlint.families import tf_tables

    classes = tf_tables.model_classes(model_type)
    heads: dict[str, Any] = {}
    for task in ("masked_lm", "pretraining"):
        name = classes.get(task)
        if name is None or name == classes.get("base") or not hasattr(transformers, name):
            continue
        cfg = default_config(model_type)
        for key in LAYER_KEYS:
            if isinstance(getattr(cfg, key, None), int):
                setattr(cfg, key, 2)
        try:
            with torch.device("meta"):
                model = getattr(transformers, name)(cfg)
        except Exception:
            continue
        base = getattr(model, getattr(model, "base_model_prefix", ""), None)
        if base is None or base is model:
            continue
        inner = {id(p) for p in base.parameters()}
        tokens = model.get_input_embeddings().weight
        output = model.get_output_embeddings()
        out_weight = getattr(output, "weight", None)
        sizes = {"D": cfg.hidden_size, "E": int(tokens.shape[1]), "V": int(tokens.shape[0]),
                 "I": getattr(cfg, "intermediate_size", None) or -1}
        own = [
            [_symbol(int(d), sizes) for d in p.shape]
            for p in model.parameters()
            if id(p) not in inner and p is not out_weight
        ]
        heads[name] = {
            "pooler": any(n.startswith("pooler.") for n, _ in base.named_parameters()),
            "params": own,
            "output": [_symbol(int(d), sizes) for d in out_weight.shape]
            if out_weight is not None else None,
        }
    return {"heads": heads} if heads else {}


def _bert_blocks(modules: dict[str, Any], block0: str, cfg: Any) -> bool:
    """Block 0 holds q, k, v, output, FFN-in and FFN-out linears, all biased, and two biased
    hidden-size LayerNorms; nothing else."""
    hidden = getattr(cfg, "hidden_size", None) or 0
    inter = getattr(cfg, "intermediate_size", None) or 0
    linears, norms = [], 0
    for path, (cls, shapes) in modules.items():
        if not path.startswith(block0 + "."):
            continue
        weight = shapes.get("weight", ())
        if _is_norm(path, cls) and weight == (hidden,) and "bias" in shapes and len(shapes) == 2:
            norms += 1
        elif len(weight) == 2 and "bias" in shapes and len(shapes) == 2:
            linears.append(weight)
        else:
            return False
    want = sorted([(hidden, hidden)] * 4 + [(inter, hidden), (hidden, inter)])
    return norms == 2 and sorted(linears) == want


def _bert_tables(rest: dict[str, Any], cfg: Any, width: int | None) -> bool:
    """Everything left outside the blocks is a table the BERT reader sizes from the config:
    tokens, positions, segments (one table or TAPAS's several), a relative-position bias."""
    rows = {getattr(cfg, "vocab_size", None), getattr(cfg, "max_position_embeddings", None)}
    types = getattr(cfg, "type_vocab_sizes", None) or [getattr(cfg, "type_vocab_size", None)]
    rows.update(types)
    buckets = getattr(cfg, "relative_attention_num_buckets", None)
    heads = getattr(cfg, "num_attention_heads", None)
    for _cls, shapes in rest.values():
        weight = shapes.get("weight", ())
        if len(shapes) != 1 or len(weight) != 2:
            return False
        if weight == (buckets, heads):
            continue
        if weight[1] != width or weight[0] not in rows:
            return False
    return True


ENCDEC_KEYS = ("encoder_layers", "decoder_layers", "d_model")
PROPHETNET_KEYS = ("num_encoder_layers", "num_decoder_layers", "hidden_size")


def _encdec_model(model_type: str, changes: dict[str, int] | None = None) -> tuple[Any, Any]:
    """The seq2seq class of an encoder-decoder type on meta, 2 layers a stack."""
    import torch
    import transformers

    from archlint.families import tf_tables

    classes = tf_tables.model_classes(model_type)
    name = classes.get("seq_to_seq_causal_lm") or classes.get("base")
    cfg = default_config(model_type)
    for key in (*ENCDEC_KEYS[:2], *PROPHETNET_KEYS[:2]):
        if isinstance(getattr(cfg, key, None), int):
            setattr(cfg, key, 2)
    for key, value in (changes or {}).items():
        setattr(cfg, key, value)
    with torch.device("meta"):
        return getattr(transformers, str(name))(cfg), cfg


def _shapes(stack: Any) -> dict[str, tuple[int, ...]]:
    return {n: tuple(int(d) for d in p.shape) for n, p in stack.named_parameters()}


class _Keys:
    """Which config key sizes a dimension of a stack's tensor. By default value, and where
    several keys share that default (FSMT's src_vocab_size and tgt_vocab_size), by building
    the model again with one candidate changed and seeing whether that tensor follows."""

    def __init__(self, model_type: str, defaults: dict[str, Any]) -> None:
        self.model_type = model_type
        self.defaults = defaults

    def key(self, stack: str, path: str, axis: int, dim: int) -> str | int:
        if self.defaults.get("d_model", self.defaults.get("hidden_size")) == dim:
            return "d_model"  # the hidden size, under whichever name the dialect uses
        keys = sorted(
            k for k, v in self.defaults.items()
            if v == dim and isinstance(v, int) and not isinstance(v, bool)
            and not k.endswith(("_id", "_layers"))
        )
        if len(keys) <= 1:
            return keys[0] if keys else dim
        for key in keys:
            try:
                model, _ = _encdec_model(self.model_type, {key: dim + 1})
            except Exception:
                continue
            part = model.get_encoder() if stack == "encoder" else model.get_decoder()
            shape = _shapes(part).get(path)
            if shape is not None and shape[axis] == dim + 1:
                return key
        return keys[0]


def _block_facts(block: Any, hidden: int) -> dict[str, Any]:
    """One block's modules by kind: weighted hidden-size norms, the self-attention's input and
    output projections (and Longformer-style separate global q/k/v), the MLP's linears."""
    import torch

    norms = [
        m for _, m in block.named_modules()
        if "norm" in type(m).__name__.lower()
        and getattr(m, "weight", None) is not None and tuple(m.weight.shape) == (hidden,)
    ]
    attn = next((m for n, m in block.named_children() if n.startswith("self_attn")), None)
    linears = [
        (n, m) for n, m in (attn.named_modules() if attn is not None else [])
        if isinstance(m, torch.nn.Linear)
    ]
    mlp = [
        m for n, m in block.named_modules()
        if isinstance(m, torch.nn.Linear) and MLP_RE.search(n) and not ATTN_RE.search(n)
    ]
    out: dict[str, Any] = {
        "norms_per_layer": len(norms),
        "norm": "layernorm" if any("rms" not in type(m).__name__.lower() for m in norms)
        else "rmsnorm",
        "norm_bias": any(getattr(m, "bias", None) is not None for m in norms),
        "global_qkv": any(n.endswith("_global") for n, _ in linears),
    }
    if linears:
        out["qkv_bias"] = any(m.bias is not None for _, m in linears[:-1])
        out["o_bias"] = linears[-1][1].bias is not None
    if mlp:
        out["gated_mlp"] = len(mlp) >= 3
        out["mlp_bias"] = any(m.bias is not None for m in mlp)
    return out


def _stack_facts(name: str, model: Any, cfg: Any, keys: _Keys) -> dict[str, Any]:
    """The modules of one stack (encoder or decoder) around its blocks, and its first block:
    a norm on the embedding, a norm after the last block, a position table held as a
    parameter (learned, or sinusoidal values kept in an nn.Embedding as Marian's and FSMT's
    are; a buffer is no parameter) with the key and offset that size its rows, a token table
    of its own (not the one the decoder reads), and any other tensor, in config keys."""
    stack = model.get_encoder() if name == "encoder" else model.get_decoder()
    hidden = int(getattr(cfg, "d_model", None) or cfg.hidden_size)
    blocks = next(m for n, m in stack.named_children() if n in ("layers", "layer", "block"))
    inside = {id(p) for p in blocks.parameters()}
    decoder = model.get_decoder()
    decoder_tokens = getattr(decoder, "embed_tokens", None) or decoder.word_embeddings
    decoder_tokens = decoder_tokens.weight
    skip = inside | {id(decoder_tokens)}
    head = model.get_output_embeddings()
    head_rows = int(decoder_tokens.shape[0])
    facts: dict[str, Any] = {"embedding_norm": False, "final_norm": False, "positions": None,
                             "tokens": None, "extra": []}
    for path, param in stack.named_parameters():
        if id(param) in skip or (head is not None and param is head.weight):
            continue
        shape = tuple(int(d) for d in param.shape)
        low = path.lower()
        if "norm" in low:
            if path.endswith("weight"):
                facts["embedding_norm" if "emb" in low else "final_norm"] = True
        elif "pos" in low and len(shape) == 2:
            key = next((
                k for k, v in sorted(keys.defaults.items())
                if "position" in k and isinstance(v, int) and 0 <= shape[0] - v <= 2
            ), None)
            if key is None:
                facts["extra"].append([keys.key(name, path, i, d) for i, d in enumerate(shape)])
            else:
                facts["positions"] = {"key": key, "offset": shape[0] - keys.defaults[key]}
        elif ("embed_tokens" in low or "word_emb" in low) and len(shape) == 2:
            facts["tokens"] = keys.key(name, path, 0, shape[0])
        elif name == "decoder" and shape == (head_rows, hidden):
            continue  # an output projection beside the token table (FSMT): the LM head
        else:
            facts["extra"].append([keys.key(name, path, i, d) for i, d in enumerate(shape)])
    facts.update(_block_facts(next(iter(blocks.children())), hidden))
    return facts


def encdec_facts(model_type: str) -> dict[str, Any]:
    """Encoder-decoders with BART's keys (`encoder_layers`, `decoder_layers`, `d_model`) or
    ProphetNet's (`num_encoder_layers`, ..., `hidden_size`): the `stacks` facts of each stack
    (see `_stack_facts`), and, for BART's keys, `dialect` "bart"."""
    from archlint.families import tf_tables

    defaults = tf_tables.defaults_for(model_type) or {}
    bart = all(isinstance(defaults.get(k), int) for k in ENCDEC_KEYS)
    if not bart and not all(isinstance(defaults.get(k), int) for k in PROPHETNET_KEYS):
        return {}
    model, cfg = _encdec_model(model_type)
    keys = _Keys(model_type, defaults)
    stacks = {name: _stack_facts(name, model, cfg, keys) for name in ("encoder", "decoder")}
    return {"dialect": "bart", "stacks": stacks} if bart else {"stacks": stacks}


def main() -> int:
    warnings.filterwarnings("ignore")
    import transformers

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from archlint.families import tf_tables

    transformers.logging.set_verbosity_error()
    table: dict[str, Any] = {}
    signal.signal(signal.SIGALRM, _timeout)
    for model_type in tf_tables.model_types():
        if tf_tables.category(model_type) == "encoder-decoder":
            signal.alarm(60)
            try:
                found = encdec_facts(model_type)
            except Exception:
                found = {}
            finally:
                signal.alarm(0)
            if found:
                table[model_type] = found
            continue
        category = tf_tables.category(model_type)
        # a decoder wrapper whose language model reads the root keys (GIT, Idefics): the
        # root type is the text type the generic reader looks up
        root = (
            category == "multimodal"
            and "text_config" not in tf_tables.sub_configs(model_type)
            and not (tf_tables.defaults_for(model_type) or {}).get("is_encoder_decoder")
        )
        if category not in ("decoder", "encoder", "component") and not root:
            continue
        signal.alarm(20 if category in ("decoder", "encoder") else 240)
        try:
            if category == "component":
                # a wrapper's language model (text_config) with no class of its own to build
                found = facts(model_type, True, wrapped=True)
            elif root:
                found = facts(model_type, True, root=True)
            else:
                found = facts(model_type, category == "decoder")
        except Exception:
            found = None
        finally:
            signal.alarm(0)
        if tf_tables.category(model_type) == "encoder":
            found = dict(found or {})
            for more in (encoder_facts, head_facts):  # each on its own: ALBERT has no layers.0
                signal.alarm(20)
                try:
                    found.update(more(model_type))
                except Exception:
                    pass
                finally:
                    signal.alarm(0)
        if found:
            table[model_type] = found
    payload = {"transformers_version": transformers.__version__, "types": table}
    OUT.write_bytes(gzip.compress(json.dumps(payload, sort_keys=True).encode(), mtime=0))
    print(f"{len(table)} model types -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
