"""The generic adapter: reads the standard Hugging Face config keys, with provenance.

Family adapters subclass `Adapter` and override only what their dialect does differently
(key names, layer patterns, MoE layout). A model type no adapter knows goes through this
class unchanged, with `known_family=False`, so it still gets a best-effort report.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from archlint.dtypes import canonical_name
from archlint.errors import ConfigError
from archlint.families import mtp, per_layer, tf_structure, tf_tables
from archlint.families.coverage import build_coverage
from archlint.families.moe_layers import moe_layers
from archlint.families.towers import TOWER_KEYS, read_towers, table_entry, wrapper_tie
from archlint.spec import (
    AttentionKind,
    AttentionSpec,
    Coverage,
    CoverageHow,
    CoverageItem,
    FFNSpec,
    FieldSource,
    LayerSpec,
    ModelSpec,
    Positional,
    QuantizationSpec,
    RecurrentSpec,
    StackSpec,
    TowerSpec,
)

_MISSING = object()


class ConfigView:
    """Key lookup over a config dict (and an optional nested `text_config`) that records
    which key answered, so every value the adapter reads carries its provenance.

    A key the config omits takes the default that transformers' configuration class for the
    `model_type` applies (`archlint.families.tf_tables`, generated from transformers), and a
    key stored under a dialect alias (transformers' `attribute_map`: GPT-2's `n_embd` for
    `hidden_size`) is found under its alias.

    Each key has one owner in a wrapper (a config with `text_config`), as transformers reads
    it: the language model's keys are read from `text_config` first; the wrapper's root is
    their fallback (flat configs of older releases), except a key the wrapper's own class
    declares (`wrapper_owns`). The load dtype is the wrapper's (`WRAPPER_KEYS`). A key the
    config declares as null is declared null: no default replaces it, and a null in
    `text_config` is not replaced by the root's value (transformers builds the language model
    from `text_config` alone), though the next key asked for (an alias) may still answer.

    This is the one view of a config: the adapters read through it, and so do the rules
    (`RuleContext.view`)."""

    #: keys the wrapper reads for the whole model, before its text_config's: the load dtype
    #: (transformers `_get_dtype`: `dtype="auto"` takes the top-level `config.dtype`; vLLM
    #: `_find_dtype` falls back to the text config's only when the root declares none). Asked
    #: together, the root answers with any of them first (`dtype` over `torch_dtype`, as
    #: `PreTrainedConfig.__post_init__` keeps `dtype` when both are given).
    WRAPPER_KEYS = frozenset({"dtype", "torch_dtype"})

    def __init__(self, config: dict[str, Any]) -> None:
        self.root = config
        nested = config.get("text_config")
        # Multimodal wrappers (Llama 4, Gemma 3, Llava) keep the language model in text_config.
        root_type = config.get("model_type")
        # a wrapper whose config omits text_config entirely: transformers builds the default
        # one, so the language model is read from defaults alone
        if (not isinstance(nested, dict) and isinstance(root_type, str)
                and isinstance(tf_tables.sub_configs(root_type).get("text_config"), str)):
            nested = {}
        self.primary: dict[str, Any] = nested if isinstance(nested, dict) else config
        self.prefix = "text_config." if self.primary is not config else ""
        #: every key path an adapter asked for (answered or not): what was *understood*
        self.asked: set[str] = set()
        self._defaults = _DefaultScopes(config, self.primary if self.prefix else None)
        #: answers by (keys, lm_only): a config is read, never changed, and a spec reads the
        #: same keys once per layer (51k lookups in a 270-model scan)
        self._answers: dict[tuple[tuple[str, ...], bool], tuple[Any, str | None, bool]] = {}

    def lookup(self, *keys: str) -> tuple[Any, str | None]:
        value, key, _ = self.lookup_sourced(*keys)
        return value, key

    def lookup_sourced(self, *keys: str) -> tuple[Any, str | None, bool]:
        """(value, key that answered, whether it is transformers' default)."""
        self.asked.update(keys)
        memo = (keys, self._defaults.lm_only)
        answer = self._answers.get(memo)
        if answer is None:
            answer = self._answers[memo] = self._lookup(keys)
        return answer

    def _lookup(self, keys: tuple[str, ...]) -> tuple[Any, str | None, bool]:
        present = False
        for _, node, path in self._declared(keys):
            present = True
            if node is not None:
                return node, path, False
        if not present:
            for key in keys:
                found = self._defaults.default(key)
                if found is not None:
                    return found[0], found[1], True
        return None, None, False

    def _declared(self, keys: tuple[str, ...]) -> Iterator[tuple[str, Any, str]]:
        """(key, value, path) of each of `keys` (and aliases) the config declares, null
        included, in reading order (see the class docstring)."""
        text, root = (self.primary, self.prefix), (self.root, "")
        names = self._defaults.with_aliases(keys)
        if self.prefix and all(key in self.WRAPPER_KEYS for key in names):
            order = [(key, *scope) for scope in (root, text) for key in names]
        else:
            order = [(key, *scope) for key in names for scope in (text, root)]
        nulled: set[str] = set()
        for key, scope, prefix in order:
            if scope is self.root and (key in nulled or self.wrapper_owns(key)):
                continue  # text_config's null, or the wrapper's own key (wrapper_owns)
            if self._defaults.replaces(prefix, key):
                continue  # its class computes the value whatever the config says
            node: Any = scope
            for part in key.split("."):
                node = node.get(part, _MISSING) if isinstance(node, dict) else _MISSING
            if node is _MISSING:
                continue
            if node is None and prefix:
                nulled.add(key)
            yield key, node, prefix + key

    def declared_key(self, *keys: str) -> str | None:
        """The key path that declares the first of `keys` as this view reads them: the one
        whose value answers, else the first declared null; None when none is declared."""
        first_null = None
        for _, node, path in self._declared(keys):
            if node is not None:
                return path
            first_null = first_null or path
        return first_null

    def has(self, key: str) -> bool:
        return self.lookup(key)[1] is not None

    @property
    def lm_only(self) -> bool:
        """The reader is the language model's, not the wrapper's own adapter (ModernVBERT's):
        the wrapper's own keys are then not its keys (wrapper_owns)."""
        return self._defaults.lm_only

    @lm_only.setter
    def lm_only(self, value: bool) -> None:
        self._defaults.lm_only = value

    def wrapper_owns(self, key: str) -> bool:
        """`key` is a root key of a wrapper that the wrapper's own configuration class
        declares and the language model's does not (GraniteSpeech's `window_size` sizes its
        Q-Former projector's windows, MusicFlamingo's `head_dim` its audio rotary
        embedding): transformers builds the language model from text_config, which never
        reads it, so the language model's lookups do not fall back to it."""
        return (
            self.lm_only and bool(self.prefix) and "." not in key
            and self._defaults.owns_root(key)
        )

    def computed_default(self, key: str) -> Any:
        """transformers' default for `key` even where its class computes it from other keys
        (a per-layer list built for the default layer count): a shape, not a value to use."""
        return self._defaults.default(key, computed=True)

    @property
    def defaults_source(self) -> str:
        return self._defaults.source


class _DefaultScopes:
    """transformers' defaults for the language model's config (text_config's model type when
    nested) and for the root config."""

    def __init__(self, root: dict[str, Any], text: dict[str, Any] | None) -> None:
        root_type = root.get("model_type")
        self.scopes: list[tuple[str, dict[str, Any], frozenset[str]]] = []
        #: per scope prefix, the config dict it reads and its model type (for the sub-configs
        #: a dotted key walks into: `_nested`)
        self.declared: dict[str, tuple[dict[str, Any], str | None]] = {}
        self.lm_only = True  # see ConfigView.lm_only
        self.aliases: dict[str, str] = {}
        if not isinstance(root_type, str) or not tf_tables.known(root_type):
            self.source = ""
            return
        root_defaults = tf_tables.defaults_for(root_type) or {}
        if text is not None:
            text_type = text.get("model_type") or tf_tables.sub_configs(root_type).get(
                "text_config"
            )
            # transformers builds a declared text_config from its own type's class defaults;
            # only an absent one becomes the wrapper's default text_config
            nested = root_defaults.get("text_config")
            declared = isinstance(root.get("text_config"), dict)
            own = tf_tables.defaults_for(text_type) if isinstance(text_type, str) else None
            wrapper = nested if isinstance(nested, dict) else None
            text_defaults = ((own or wrapper) if declared else (wrapper or own)) or {}
            if isinstance(text_type, str):
                self.aliases.update(tf_tables.attribute_map(text_type))
                derived = tf_tables.derived_keys(text_type)
            else:
                derived = frozenset()
            self.scopes.append(("text_config.", text_defaults, derived))
            self.declared["text_config."] = (
                text, text_type if isinstance(text_type, str) else None
            )
        self.aliases.update(tf_tables.attribute_map(root_type))
        self.scopes.append(("", root_defaults, tf_tables.derived_keys(root_type)))
        self.declared[""] = (root, root_type)
        self.source = (
            f"transformers {tf_tables.transformers_version()} "
            f"{tf_tables.config_class(root_type) or root_type} default"
        )

    #: root keys the wrapper model itself reads for its language model: its
    #: ForConditionalGeneration ties lm_head by the wrapper config's tie_word_embeddings
    WRAPPER_READS_FOR_LM = frozenset({"tie_word_embeddings"})

    def replaces(self, prefix: str, key: str) -> bool:
        """The class reading scope `prefix` replaces a declared `key` with a value it
        computes (tf_tables.overridden_keys): the declared value is never used."""
        owner = self.declared.get(prefix, ({}, None))[1]
        return owner is not None and key in tf_tables.overridden_keys(owner)

    def owns_root(self, key: str) -> bool:
        """The root class declares `key` and the text scope's class does not."""
        if key in self.WRAPPER_READS_FOR_LM:
            return False
        scopes = dict((prefix, defaults) for prefix, defaults, _ in self.scopes)
        text, root = scopes.get("text_config."), scopes.get("")
        return text is not None and root is not None and key in root and key not in text

    def with_aliases(self, keys: tuple[str, ...]) -> list[str]:
        out = list(keys)
        out.extend(self.aliases[k] for k in keys
                   if k in self.aliases and self.aliases[k] not in out)
        return out

    def default(self, key: str, computed: bool = False) -> tuple[Any, str] | None:
        if "." in key:
            return self._nested(key, computed)
        for prefix, defaults, derived in self.scopes:
            # computed from other keys in transformers (Llama's head_dim): not a constant
            if (key in derived and not computed) or key not in defaults:
                continue
            if not prefix and self.lm_only and self.owns_root(key):
                continue  # the wrapper's own default (ConfigView.wrapper_owns)
            value = defaults[key]
            if value is not None and not isinstance(value, dict):
                return value, prefix + key
        return None

    def _nested(self, key: str, computed: bool) -> tuple[Any, str] | None:
        """The default of a key inside a sub-config or a dict value (`encoder_config.
        hidden_size`, `compress_rates.heavily_compressed_attention`): `nested_default`
        in each scope, text_config's first."""
        for prefix, defaults, derived in self.scopes:
            config, owner = self.declared.get(prefix, ({}, None))
            found = nested_default(key, defaults, derived, config, owner, computed, prefix)
            if found is not None:
                return found
        return None


def nested_default(
    key: str,
    defaults: dict[str, Any],
    derived: frozenset[str],
    config: Any,
    owner: str | None,
    computed: bool = False,
    prefix: str = "",
) -> tuple[Any, str] | None:
    """(value, path) of transformers' default for a dotted `key` as it applies it, walking
    one level at a time: a sub-config the config declares is built from its own class's
    defaults (its `model_type`, else the one the owner's class gives it), an absent one as
    the owner's class builds it by default; a key its class computes from others
    (`derived`) is no constant, at every level, unless `computed`. None where no constant
    default applies."""
    head, _, rest = key.partition(".")
    value = defaults.get(head)
    if value is None or (head in derived and not computed):
        return None
    if not rest:
        return None if isinstance(value, dict) else (value, prefix + head)
    if not isinstance(value, dict):
        return None
    sub_type = tf_tables.sub_configs(owner).get(head) if owner else None
    given = config.get(head) if isinstance(config, dict) else None
    if isinstance(given, dict) and sub_type is not None:
        sub_type = str(given.get("model_type") or sub_type)
        value = tf_tables.defaults_for(sub_type) or {}
    sub_derived = tf_tables.derived_keys(sub_type) if sub_type else frozenset()
    return nested_default(rest, value, sub_derived, given, sub_type, computed, f"{prefix}{head}.")


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


class Adapter:
    """Standard keys. Subclasses override hooks; all reads go through `self.read`."""

    name: ClassVar[str] = "generic"
    model_types: ClassVar[tuple[str, ...]] = ()
    known: ClassVar[bool] = True
    #: transformers' PretrainedConfig default is True; families whose config class says
    #: otherwise (Llama, DeepSeek, gpt-oss, GPT-J/NeoX, DBRX) set False.
    tie_default: ClassVar[bool] = True
    #: an encoder's pooler when transformers' structure table does not say (BERT has one)
    pooler_default: ClassVar[bool] = False

    def __init__(
        self,
        config: dict[str, Any],
        *,
        inferred: bool = False,
        origins: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """`inferred`: the config was synthesised from tensor shapes (no config.json), so what
        it "declares" is recorded as inferred. `origins`: config key → the FieldSource fields
        of where the key really came from (a GGUF file's metadata key, say)."""
        self.config = config
        self.inferred = inferred
        self.origins = origins or {}
        self.cv = ConfigView(config)
        if config.get("model_type") in self.model_types:
            # an adapter for the wrapper itself (ModernVBERT) reads the wrapper's own keys
            self.cv.lm_only = False
        self.prov: dict[str, FieldSource] = {}
        self.notes: list[str] = []
        self.unknown_mixer = False  # set when a layer's mixer could not be described
        self.unknown_layer_types: set[str] = set()  # layer_types names no reader knows
        self._moe_pattern: list[bool] | None = None

    # -- reading with provenance --------------------------------------------------------------
    def declared(self, key: str, detail: str | None = None) -> FieldSource:
        if self.inferred:
            return FieldSource(kind="inferred", detail="from tensor shapes (no config.json)")
        origin = self.origins.get(key)
        if origin is not None:
            return FieldSource(**origin)
        return FieldSource(kind="declared", key=key, detail=detail)

    def read(
        self,
        field: str,
        *keys: str,
        default: Any = None,
        why: str | None = None,
        prov: dict[str, FieldSource] | None = None,
    ) -> Any:
        """First of `keys` present in the config; else `default`, recorded as a default."""
        target = self.prov if prov is None else prov
        value, key, from_default = self.cv.lookup_sourced(*keys)
        if key is not None and from_default:
            target[field] = FieldSource(kind="default", key=key, detail=self.cv.defaults_source)
            return value
        if key is not None:
            target[field] = self.declared(key)
            return value
        if default is not None:
            target[field] = FieldSource(
                kind="default", detail=why or f"{field} defaults to {default!r}"
            )
        return default

    def read_int(
        self,
        field: str,
        *keys: str,
        default: int | None = None,
        why: str | None = None,
        prov: dict[str, FieldSource] | None = None,
    ) -> int | None:
        value = self.read(field, *keys, default=None, prov=prov)
        number = _as_int(value)
        if value is not None and number is None:
            self.notes.append(f"{field}: config value {value!r} is not an integer; ignored")
            (self.prov if prov is None else prov).pop(field, None)
        if number is None and default is not None:
            (self.prov if prov is None else prov)[field] = FieldSource(
                kind="default", detail=why or f"{field} defaults to {default!r}"
            )
            return default
        return number

    def derive(
        self, field: str, value: Any, rule: str, prov: dict[str, FieldSource] | None = None
    ) -> Any:
        (self.prov if prov is None else prov)[field] = FieldSource(kind="derived", detail=rule)
        return value

    # -- model-level fields ---------------------------------------------------------------------
    def hidden_size(self) -> int:
        return (
            self.read_int("hidden_size", "hidden_size", "n_embd", "n_embed", "d_model", "dim") or 0
        )

    def num_layers(self) -> int:
        return (
            self.read_int("num_layers", "num_hidden_layers", "n_layer", "n_layers", "num_layers")
            or 0
        )

    def vocab_size(self) -> int:
        return self.read_int("vocab_size", "vocab_size", "padded_vocab_size") or 0

    def wrapper_tied(self) -> bool | None:
        """Whether a multimodal wrapper ties its head, as transformers decides it for the
        wrapper (towers.wrapper_tie): for a language model read from its text_config, or
        from the wrapper's root keys (Evolla, IDEFICS, GIT); None for no wrapper or where
        the wrapper does not decide. It comes before an adapter's own reading of the key
        (LFM2's `tie_embedding`), which holds for the text model alone."""
        if not self.cv.prefix and self.architecture() != "decoder":
            return None
        tied = wrapper_tie(self.config)
        if tied is None:
            return None
        if isinstance(self.config.get("tie_word_embeddings"), bool):
            self.prov["tie_word_embeddings"] = self.declared("tie_word_embeddings")
        else:
            self.prov["tie_word_embeddings"] = FieldSource(
                kind="default",
                key="tie_word_embeddings",
                detail=f"transformers {tf_tables.transformers_version()} "
                f"{self.config.get('model_type')} wrapper config default",
            )
        return tied

    def tie_word_embeddings(self) -> bool:
        """Whether the output head is the token table: the one rule, not overridden. A
        multimodal wrapper decides for its head first (`wrapper_tied`), else the model's
        own reading (`own_tie`, the one override point)."""
        tied = self.wrapper_tied()
        return self.own_tie() if tied is None else tied

    def own_tie(self) -> bool:
        """The language model's own `tie_word_embeddings` (its text_config's inside a
        wrapper), which its class applies to the ties it registers itself (a BART inside
        Florence-2 ties its stacks' tables to `shared` by it; the wrapper's head is the
        wrapper's business, `wrapper_tied`). The override point for a family whose head
        tie is read otherwise (LFM2's `tie_embedding`) or fixed by its modeling code
        (CPM-Ant, Pop2Piano)."""
        return bool(
            self.read(
                "tie_word_embeddings",
                "tie_word_embeddings",
                default=self.tie_default,
                why=f"{self.name} config default tie_word_embeddings={self.tie_default}",
            )
        )

    def max_positions(self) -> int | None:
        return self.read_int(
            "max_position_embeddings",
            "max_position_embeddings",
            "n_positions",
            "max_seq_len",
            "max_sequence_length",
            "seq_length",
            "n_ctx",
        )

    def norm_kind(self) -> str:
        return "rmsnorm"

    def norm_bias(self) -> bool:
        """LayerNorm carries a bias unless the family removed it; RMSNorm never does."""
        return self.norm_kind() == "layernorm"

    #: the norms' epsilon across dialects: Llama's `rms_norm_eps`; BERT's and Cohere's
    #: `layer_norm_eps`; GPT-2's, BLOOM's, Falcon's and T5's `layer_norm_epsilon`; ChatGLM's
    #: `layernorm_epsilon`; StarCoder2's `norm_epsilon`; Mistral params.json's `norm_eps`
    RMS_EPS_KEYS: ClassVar[tuple[str, ...]] = ("rms_norm_eps", "norm_eps", "norm_epsilon")
    LAYERNORM_EPS_KEYS: ClassVar[tuple[str, ...]] = (
        "layer_norm_eps", "layer_norm_epsilon", "layernorm_epsilon")

    def norm_eps(self) -> float | None:
        """The epsilon the block norms add to the variance: the key the config declares, else
        the default transformers' configuration class applies for the model type; the norm
        kind's own spellings first (a config may carry both). None when neither states it."""
        rms, layernorm = self.RMS_EPS_KEYS, self.LAYERNORM_EPS_KEYS
        keys = layernorm + rms if self.norm_kind() == "layernorm" else rms + layernorm
        value = self.read("norm_eps", *keys)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
        self.prov.pop("norm_eps", None)
        return None

    def structure_fact(self, name: str, default: Any) -> Any:
        """What transformers' modeling code builds for this model_type (`tf_structure`,
        generated from its modules), recorded as a default; `default` when not observed."""
        mt = self.cv.lookup("model_type")[0]
        value = tf_structure.facts(mt).get(name) if isinstance(mt, str) else None
        if value is None:
            return default
        self.prov.setdefault(
            f"structure.{name}",
            FieldSource(
                kind="default",
                detail=f"transformers {tf_structure.version()} {mt} modeling: {name}={value}",
            ),
        )
        return value

    def _encoder_fact(self, name: str, default: bool) -> bool:
        """A fact of the stack around an encoder's blocks (only encoders record them)."""
        if self.architecture() != "encoder":
            return default
        return bool(self.structure_fact(name, default))

    def _stack_fact(self, name: str, default: bool) -> bool:
        """A norm around the blocks of an encoder or a decoder (`tf_structure` records both;
        an encoder-decoder records none)."""
        if self.architecture() not in ("encoder", "decoder"):
            return default
        return bool(self.structure_fact(name, default))

    def embedding_norm(self) -> bool:
        return self._stack_fact("embedding_norm", False)

    def pooler(self) -> bool:
        head = self.task_head()
        if head is not None:  # BertForMaskedLM drops the pooler, BertForPreTraining keeps it
            return bool(head.get("pooler"))
        return self._encoder_fact("pooler", self.pooler_default)

    def task_head(self) -> dict[str, Any] | None:
        """The pretraining head of an encoder checkpoint: the masked-LM or pretraining class
        its `architectures` names, as transformers builds it (`tf_structure` fact `heads`).
        None for a bare encoder or a class the table does not describe."""
        if self.architecture() != "encoder":
            return None
        names = self.config.get("architectures")
        heads = self.structure_fact("heads", None)
        if not isinstance(names, list) or not names or not isinstance(heads, dict):
            return None
        entry = heads.get(names[0])
        return entry if isinstance(entry, dict) else None

    def task_head_params(self) -> int:
        """Parameters of `task_head`: its own tensors in symbols (D hidden, E embedding width,
        V vocabulary, I intermediate) sized by this config, plus the output projection when it
        is not tied to the token table."""
        head = self.task_head()
        if head is None:
            return 0
        hidden = self.hidden_size()
        sizes = {"D": hidden, "E": self.embedding_width() or hidden, "V": self.vocab_size()}

        def numel(shape: list[Any]) -> int:
            out = 1
            for dim in shape:
                if dim == "I":
                    dim = self.ffn(0).intermediate_size
                out *= dim if isinstance(dim, int) else sizes.get(str(dim), 0)
            return out

        total = sum(numel(shape) for shape in head.get("params") or [])
        output = head.get("output")
        if isinstance(output, list) and not self.tie_word_embeddings():
            total += numel(output)
        return total

    def final_norm(self) -> bool:
        """Pre-norm stacks end with a norm; a post-norm encoder (BERT) has none unless its
        modeling code adds one (RoBERTa-PreLayerNorm, Megatron-BERT, ModernBERT)."""
        if self.architecture() != "encoder":
            return self._stack_fact("final_norm", True)
        return self._encoder_fact("final_norm", False)

    def embedding_width(self) -> int | None:
        """The width of the token / position / segment tables when narrower than the hidden
        size (ALBERT and ELECTRA's factorised embedding, RemBERT's input embedding): the key
        transformers' modeling sizes them by (a generated fact), else the common names."""
        if self.architecture() != "encoder":
            return None
        key = self.structure_fact("embedding_width_key", None)
        keys = (key,) if isinstance(key, str) else ()
        width = self.read_int("embedding_size", *keys, "embedding_size", "input_embedding_size")
        return width if width and width != self.hidden_size() else None

    def embedding_projection(self) -> bool:
        """A linear from the embedding width up to the hidden size: present when the widths
        differ and the modeling code has one, or always when it projects at equal widths
        too (FNet's embeddings.projection)."""
        if not self._encoder_fact("embedding_projection", False):
            return False
        return self.embedding_width() is not None or self.structure_fact(
            "embedding_width_key", None
        ) is None

    def type_vocab_rows(self) -> int:
        """Rows of the segment tables: `type_vocab_size`, or the sum of TAPAS-style
        `type_vocab_sizes` (one table per segment kind)."""
        sizes = self.cv.lookup("type_vocab_sizes")[0]
        if isinstance(sizes, list) and all(isinstance(n, int) for n in sizes):
            self.prov["type_vocab_size"] = self.declared("type_vocab_sizes", "sum of the tables")
            return sum(sizes)
        return self.read_int("type_vocab_size", "type_vocab_size") or 0

    def dtype(self) -> str | None:
        value = self.read("dtype", "dtype", "torch_dtype")
        return canonical_name(value) if isinstance(value, str) else None

    def architecture(self) -> str:
        return "decoder"

    def quantization(self) -> QuantizationSpec | None:
        raw = self.cv.lookup("quantization_config", "compression_config")[0]
        if not isinstance(raw, dict):
            return None
        method = str(raw.get("quant_method") or raw.get("format") or "unknown")
        bits = raw.get("bits") or raw.get("num_bits")
        groups = raw.get("config_groups")
        if bits is None and isinstance(groups, dict):
            for group in groups.values():
                weights = (group or {}).get("weights") or {}
                bits = weights.get("num_bits", bits)
                raw_group = weights.get("group_size")
                if raw_group and not raw.get("group_size"):
                    raw = {**raw, "group_size": raw_group}
        if bits is None:
            bits = {"fp8": 8, "mxfp4": 4, "nvfp4": 4}.get(method)
        if bits is None and raw.get("load_in_4bit"):
            bits = 4
        if bits is None and raw.get("load_in_8bit"):
            bits = 8
        block = raw.get("weight_block_size")
        return QuantizationSpec(
            method=method,
            bits=float(bits)
            if isinstance(bits, (int, float)) and not isinstance(bits, bool)
            else None,
            group_size=_as_int(raw.get("group_size")),
            block_size=list(block) if isinstance(block, list) else None,
            modules_not_converted=list(
                raw.get("modules_to_not_convert") or raw.get("ignore") or []
            ),
            raw=raw,
        )

    # -- per-layer pattern ----------------------------------------------------------------------
    def layer_types(self, n_layers: int) -> list[str]:
        """Per layer: 'full', 'sliding', 'chunked' or 'linear'."""
        declared = mtp.stack_entries(self, self.cv.lookup("layer_types")[0], n_layers)
        if isinstance(declared, list) and len(declared) == n_layers:
            self.prov["layer_types"] = self.declared("layer_types")
            # an explicit list supersedes the pattern keys older configs also carry
            self.cv.asked.update(("sliding_window_pattern", "_sliding_window_pattern"))
            return [self._normalise_layer_type(str(t)) for t in declared]
        return self.default_layer_types(n_layers)

    def default_layer_types(self, n_layers: int) -> list[str]:
        """The per-layer pattern where the config declares no `layer_types` list: a family
        whose config class builds one by rule (every 4th layer full, ...) overrides this."""
        window = self.window()
        if window is None:
            return ["full"] * n_layers
        pattern = self.read_int(
            "sliding_window_pattern", "sliding_window_pattern", "_sliding_window_pattern"
        )
        if pattern:
            # Gemma 3 / Cohere 2: every `pattern`-th layer is global, the rest are local.
            return ["full" if (i + 1) % pattern == 0 else "sliding" for i in range(n_layers)]
        return ["sliding"] * n_layers

    #: layer-type names configs use, by the mixer kind archlint gives them
    LAYER_TYPE_NAMES: ClassVar[dict[str, str]] = {
        "full_attention": "full", "attention": "full", "global": "full", "full": "full",
        "global_attention": "full", "sliding_attention": "sliding", "sliding": "sliding",
        "local": "sliding", "local_attention": "sliding", "swa": "sliding",
        "chunked_attention": "chunked", "chunked": "chunked", "linear_attention": "linear",
        "linear": "linear", "mamba": "linear", "mamba2": "linear", "recurrent": "linear",
        "conv": "linear", "deltanet": "linear", "gated_deltanet": "linear", "ssm": "linear",
        # reference sliding-window attention (R-SWA, Unlimited-OCR): the cache keeps every
        # prefill (image + prompt) token for good and windows only the decoded ones
        # (transformers' DynamicReferenceSlidingWindowLayer), so a context that is all
        # prompt is held whole: for sizing, a full layer
        "reference_sliding_attention": "full",
    }

    def _normalise_layer_type(self, value: str) -> str:
        kind = self.LAYER_TYPE_NAMES.get(value.lower())
        if kind is None:
            self.unknown_layer_types.add(value)
            return "full"
        return kind

    def window(self) -> int | None:
        """The sliding window, or None when the model does not use one."""
        use = self.cv.lookup("use_sliding_window")[0]
        if use is False:
            # The window keys are read and deliberately unused.
            self.cv.asked.update(("sliding_window", "max_window_layers"))
            self.prov["window"] = self.declared(
                "use_sliding_window", "use_sliding_window is false: window unused"
            )
            return None
        return self.read_int("window", "sliding_window", "window_size")

    # -- attention ------------------------------------------------------------------------------
    def attention(self, index: int, layer_type: str) -> AttentionSpec:
        prov: dict[str, FieldSource] = {}
        hidden = self.hidden_size()
        heads = (
            self.read_int(
                "num_heads", "num_attention_heads", "n_head", "n_heads", "num_heads", prov=prov
            )
            or 0
        )
        kv = self.kv_heads(heads, prov)
        head_dim = self.read_int("head_dim", "head_dim", "attention_head_size", "d_kv", prov=prov)
        if head_dim is None and heads:
            head_dim = self.derive(
                "head_dim", hidden // heads, "hidden_size // num_attention_heads", prov
            )
        v_head_dim = self.read_int("v_head_dim", "v_head_dim", prov=prov) or head_dim or 0
        window = self.window() if layer_type == "sliding" else None
        if window is not None and window < 1:
            # a 0-token window attends to nothing (and has no cache to size): refused, naming
            # the key it came from (sliding_window, window_size, attention_window_size)
            key = getattr(self.prov.get("window"), "key", None) or "sliding_window"
            raise ConfigError(f"config.json: {key} must be a positive integer (got {window})")
        chunk = self.chunk() if layer_type == "chunked" else None
        spec = AttentionSpec(
            kind=classify_heads(heads, kv),
            num_heads=heads,
            num_kv_heads=kv,
            head_dim=head_dim or 0,
            v_head_dim=v_head_dim,
            window=window,
            chunk=chunk,
            positional=self.positional(index),
            rope_theta=self.rope_theta(),
            rope_scaling=self.rope_scaling(),
            rotary_fraction=self.rotary_fraction(),
            softcap=self.read("softcap", "attn_logit_softcapping", prov=prov),
            qk_norm=self.qk_norm(),
            qkv_bias=self.qkv_bias(),
            o_bias=self.o_bias(),
            provenance=prov,
        )
        return spec

    def kv_heads(self, heads: int, prov: dict[str, FieldSource]) -> int:
        return (
            self.read_int(
                "num_kv_heads",
                "num_key_value_heads",
                "num_kv_heads",
                "n_head_kv",
                "n_kv_heads",
                "kv_n_heads",
                "multi_query_group_num",
                default=heads,
                why="no num_key_value_heads: one KV head per query head (MHA)",
                prov=prov,
            )
            or heads
        )

    def chunk(self) -> int | None:
        return self.read_int("chunk", "attention_chunk_size")

    def positional(self, index: int) -> Positional:
        if self.read("alibi", "alibi", "attn_config.alibi", "use_alibi"):
            return "alibi"
        kind = self.cv.lookup("position_embedding_type")[0]
        if kind in ("absolute", "learned"):
            return "learned"
        return "rope"

    def rope_theta(self) -> float | None:
        value = self.read(
            "rope_theta", "rope_theta", "rotary_emb_base", "rope_parameters.rope_theta"
        )
        if value is None and self.positional(0) == "rope":
            value = self.read(
                "rope_theta",
                "rope_theta",
                default=10000.0,
                why="transformers' RoPE base default 10000",
            )
        return (
            float(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else None
        )

    def rope_scaling(self) -> dict[str, Any] | None:
        value = self.cv.lookup("rope_scaling")[0]
        if isinstance(value, dict):
            return value
        params = self.cv.lookup("rope_parameters")[0]
        if isinstance(params, dict) and params.get("rope_type") not in (None, "default"):
            return params
        return None

    def rotary_fraction(self) -> float | None:
        value = self.read("rotary_fraction", "partial_rotary_factor", "rotary_pct")
        return float(value) if isinstance(value, (int, float)) and value != 1 else None

    def qk_norm(self) -> bool:
        return bool(self.cv.lookup("use_qk_norm", "qk_layernorm", "attn_config.qk_ln")[0])

    def qkv_bias(self) -> bool:
        return bool(
            self.read("qkv_bias", "attention_bias", "qkv_bias", "use_bias", "bias", default=False)
        )

    def o_bias(self) -> bool:
        return self.qkv_bias()

    # -- FFN ------------------------------------------------------------------------------------
    def num_experts(self) -> int:
        return (
            self.read_int(
                "num_experts",
                "num_local_experts",
                "num_experts",
                "n_routed_experts",
                "moe_num_experts",
                "moe.num_experts",
            )
            or 0
        )

    def is_moe_layer(self, index: int) -> bool:
        """The layer's MLP is the routed block (`moe_layers`: one reading of the per-layer
        pattern keys for every dialect)."""
        if self.num_experts() <= 1:
            return False
        if self._moe_pattern is None:
            self._moe_pattern = moe_layers(self, self.num_layers())
        return index >= len(self._moe_pattern) or self._moe_pattern[index]

    def fixed_activation(self) -> str | None:
        """The activation a family's modeling code fixes where no config key names one
        (BLOOM's tanh GELU), in transformers' ACT2FN names; None when it is not known."""
        return None

    def ffn(self, index: int) -> FFNSpec:
        prov: dict[str, FieldSource] = {}
        act = self.read(
            "activation", "hidden_act", "activation_function", "hidden_activation", "activation",
            prov=prov,
        )
        if act is None and (fixed := self.fixed_activation()):
            act = self.derive("activation", fixed, f"{self.name}'s modeling code: {fixed}", prov)
        gated = self.gated_ffn()
        width = self.read_int(
            "intermediate_size",
            "intermediate_size",
            "n_inner",
            "dff",
            "ffn_dim",
            "d_ff",
            "inter_dim",
            "hidden_dim",
            "ffn_hidden_size",  # Megatron's name (TeleChat, ChatGLM, Megatron-GPT exports)
            prov=prov,
        )
        if width is None:
            width = self.derive(
                "intermediate_size",
                4 * self.hidden_size(),
                "4 × hidden_size (GPT-2 convention when n_inner is null)",
                prov,
            )
        bias = bool(self.read("ffn_bias", "mlp_bias", "use_bias", "bias", default=False, prov=prov))
        if not self.is_moe_layer(index):
            if self.num_experts() > 1:
                # the dense layers of an MoE stack, where their width has its own key
                # (MiniMax-M3, Inkling: intermediate_size is the experts'; Cohere2-MoE)
                width = self.read_int(
                    "intermediate_size",
                    "dense_intermediate_size",
                    "prefix_dense_intermediate_size",
                    prov=prov,
                ) or width
            return FFNSpec(
                kind="dense",
                gated=gated,
                activation=act,
                intermediate_size=width,
                bias=bias,
                provenance=prov,
            )
        experts = self.num_experts()
        top_k = (
            self.read_int(
                "experts_per_token",
                "num_experts_per_tok",
                "experts_per_token",
                "moe_top_k",
                "num_experts_per_token",
                "n_activated_experts",
                "moe.num_experts_per_tok",
                prov=prov,
            )
            or 0
        )
        expert_width = (
            self.read_int(
                "expert_intermediate_size", "moe_intermediate_size", "moe_inter_dim", prov=prov
            )
            or width
        )
        shared = (
            self.read_int(
                "num_shared_experts",
                "n_shared_experts",
                "num_shared_experts",
                "moe_num_shared_experts",
                default=0,
                prov=prov,
            )
            or 0
        )
        shared_width = self.read_int(
            "shared_intermediate_size",
            "shared_expert_intermediate_size",
            "shared_intermediate_size",
            "shared_experts_intermediate_size",
            "moe_shared_expert_intermediate_size",
            prov=prov,
        )
        if shared and shared_width is None:
            shared_width = self.derive(
                "shared_intermediate_size",
                shared * expert_width,
                "n_shared_experts × moe_intermediate_size",
                prov,
            )
        if shared_width and not shared:
            shared = self.derive(
                "num_shared_experts",
                1,
                "shared_expert_intermediate_size set: one shared expert",
                prov,
            )
        scoring = self.read("router", "scoring_func", prov=prov)
        groups = (self.read_int("n_group", "n_group"), self.read_int("topk_group", "topk_group"))
        return FFNSpec(
            kind="moe",
            gated=gated,
            activation=act,
            intermediate_size=width,
            bias=bias,
            num_experts=experts,
            experts_per_token=top_k,
            expert_intermediate_size=expert_width,
            num_shared_experts=shared,
            shared_intermediate_size=shared_width or 0,
            router="sigmoid" if scoring == "sigmoid" else "softmax",
            grouped_topk=groups if groups[0] and groups[1] and groups[0] > 1 else None,  # type: ignore[arg-type]
            norm_topk_prob=self.read("norm_topk_prob", "norm_topk_prob", prov=prov),
            aux_loss_coef=self.read(
                "aux_loss_coef", "router_aux_loss_coef", "aux_loss_alpha", prov=prov
            ),
            provenance=prov,
        )

    def gated_ffn(self) -> bool:
        return True

    def parallel_block(self) -> bool:
        return bool(
            self.cv.lookup("parallel_attn", "use_parallel_residual", "parallel_residual")[0]
        )

    def norms_per_layer(self) -> int:
        return 2

    # -- assembly -------------------------------------------------------------------------------
    def build(self) -> ModelSpec:
        n_layers = self.num_layers()
        kinds = self.layer_types(n_layers)
        layers = self.decoder_layers(kinds)
        spec = ModelSpec(
            model_type=str(self.config.get("model_type") or self.cv.lookup("model_type")[0]
                           or "unknown"),
            family=self.name,
            known_family=self.known,
            architectures=list(self.config.get("architectures") or []),
            hidden_size=self.hidden_size(),
            num_layers=n_layers,
            vocab_size=self.vocab_size(),
            tie_word_embeddings=self.tie_word_embeddings(),
            head_bias=self.head_bias(),
            max_position_embeddings=self.max_positions(),
            norm=self.norm_kind(),  # type: ignore[arg-type]
            norm_bias=self.norm_bias(),
            norm_eps=self.norm_eps(),
            embedding_norm=self.embedding_norm(),
            relative_attention_buckets=self.read_int(
                "relative_attention_buckets", "relative_attention_num_buckets"
            )
            or 0,
            pooler=self.pooler(),
            final_norm=self.final_norm(),
            embedding_size=self.embedding_width(),
            embedding_projection=self.embedding_projection(),
            task_head_params=self.task_head_params(),
            positional_embedding=self.learned_positions(),
            position_offset=self.position_offset(),
            position_tables=self.position_tables(),
            type_vocab_size=self.type_vocab_rows(),
            dtype=self.dtype(),
            architecture=self.architecture(),  # type: ignore[arg-type]
            layers=layers,
            encoder_layers=self.encoder_layers(),
            stacks=self.stacks(),
            mtp_layers=self.mtp_layers(),
            mtp_module_norms=self.mtp_module_norms(),
            quantization=self.quantization(),
            towers=self.towers(),
            notes=self.notes,
            provenance=self.prov,
        )
        return spec.model_copy(update={"coverage": self.coverage(spec)})

    def coverage(self, spec: ModelSpec) -> Coverage:
        if self.inferred:
            how: CoverageHow = "assumed"
            detail = "inferred from tensor shapes (no config.json)"
        elif self.known:
            how, detail = "adapter", f"read by the {self.name} adapter"
        else:
            how, detail = "generic", "read by the generic reader from standard keys"
        extra = [
            CoverageItem(
                part=f"{tower.name} tower ({tower.kind})",
                how="adapter" if tower.understood else "assumed",
                detail="" if tower.understood else "parameters estimated",
            )
            for tower in spec.towers
        ]
        return build_coverage(
            spec.layers + spec.encoder_layers,
            how=how,
            detail=detail,
            config=self.config,
            asked=self.cv.asked,
            unknown_layer_types=self.unknown_layer_types,
            extra=extra,
        )

    def towers(self) -> list[TowerSpec]:
        """Vision/audio encoders and projectors of a multimodal wrapper config."""
        wrapper = self.config.get("model_type")
        # an encoder-decoder read at the config's root is read whole by its adapter (both
        # stacks and what sits beside them): the table, fitted on what lies outside
        # transformers' decoder, would count its encoder a second time (Pop2Piano, UDOP)
        whole = not self.cv.prefix and self.architecture() == "encoder-decoder"
        tabled = (isinstance(wrapper, str) and not whole
                  and table_entry(wrapper) is not None)
        if not self.cv.prefix and "vision_config" not in self.config and not tabled:
            return []
        self.cv.asked.update(TOWER_KEYS)
        if tabled:
            # the wrapper's own keys the table's expressions read (sub-config keys are
            # consumed with their sub-config)
            vars_ = (table_entry(str(wrapper)) or {}).get("vars") or {}
            self.cv.asked.update(k for k in vars_ if "." not in k)
        return read_towers(self.config, self.hidden_size(), table=tabled)

    def layer_key(self, index: int, layer_type: str) -> tuple[object, ...]:
        """What makes two layers' specs differ. Layers with the same key share one spec
        (built once, re-indexed), which keeps a 61-layer config from being re-read 61 times.
        An adapter whose layers vary by anything else must extend the key."""
        return (
            layer_type,
            self.is_moe_layer(index),
            self.positional(index),
            self.has_ffn(index),
            per_layer.signature(self, index),
        )

    def decoder_layers(self, kinds: list[str]) -> list[LayerSpec]:
        built: dict[tuple[object, ...], LayerSpec] = {}
        layers = []
        for index, layer_type in enumerate(kinds):
            key = self.layer_key(index, layer_type)
            if key in built:
                layers.append(built[key].model_copy(update={"index": index}))
            else:
                reader = per_layer.layer_adapter(self, index)
                built[key] = reader.layer(index, layer_type)
                if reader is not self:  # what the layer's own values asked and noted
                    self.cv.asked.update(reader.cv.asked)
                    self.notes.extend(n for n in reader.notes if n not in self.notes)
                layers.append(built[key])
        return layers

    def layer(self, index: int, layer_type: str) -> LayerSpec:
        if layer_type == "linear":
            attention = self.linear_attention(index)
        elif layer_type == "none":
            attention = AttentionSpec(kind="none", positional="none")
        else:
            attention = self.attention(index, layer_type)
        ffn = self.ffn(index) if self.has_ffn(index) else FFNSpec(kind="none")
        return LayerSpec(
            index=index,
            attention=attention,
            ffn=ffn,
            parallel=self.parallel_block(),
            norms=self.norms_per_layer(),
        )

    def has_ffn(self, index: int) -> bool:
        """False for blocks that are a token mixer alone (Mamba, Nemotron-H's M and * blocks)."""
        return True

    def linear_attention(self, index: int) -> AttentionSpec:
        """A constant-state layer the adapter cannot describe: marked, never guessed."""
        self.unknown_mixer = True
        return AttentionSpec(
            kind="linear", positional="none", linear=RecurrentSpec(variant="unknown")
        )

    def learned_positions(self) -> bool:
        return self.positional(0) == "learned"

    def position_offset(self) -> int:
        """Rows the learned position table keeps beyond max_position_embeddings (OPT's,
        BioGPT's and TrOCR's learned tables reserve 2), as transformers builds it."""
        return int(self.structure_fact("position_offset", 0))

    def head_bias(self) -> bool:
        return False

    def position_tables(self) -> int:
        return 1

    def encoder_layers(self) -> list[LayerSpec]:
        return []

    def stacks(self) -> list[StackSpec]:
        """An encoder-decoder's stacks (`archlint.families.encdec`); none otherwise."""
        return []

    def mtp_layers(self) -> list[LayerSpec]:
        return []

    def mtp_module_norms(self) -> int:
        """Norms of each MTP module outside its block (archlint/families/mtp.py)."""
        return 3


def classify_heads(heads: int, kv_heads: int) -> AttentionKind:
    """MHA: one KV head per query head; MQA: one KV head shared by all; GQA: in between.

    Source: Ainslie et al. 2023, "GQA: Training Generalized Multi-Query Transformer Models".
    """
    if heads <= 0:
        return "none"
    if kv_heads == heads:
        return "mha"
    if kv_heads == 1:
        return "mqa"
    return "gqa"


def mha_from_key(adapter: Adapter, spec: AttentionSpec, *keys: str) -> AttentionSpec:
    """`spec` as multi-head attention over the head count the config names under `keys`
    (its own head count when none is set): one KV head per query head, each
    hidden_size / heads wide (PP-FormulaNet's and Kosmos-2.5's text decoders, whose configs
    name the count under their own key)."""
    prov = dict(spec.provenance)
    heads = adapter.read_int("num_heads", *keys, prov=prov) or spec.num_heads
    dim = adapter.hidden_size() // max(heads, 1)
    return spec.model_copy(update={"num_heads": heads, "num_kv_heads": heads,
                                   "head_dim": dim, "v_head_dim": dim,
                                   "kind": classify_heads(heads, heads), "provenance": prov})


def from_modeling(model_type: str, fact: str) -> FieldSource:
    """A fact transformers' modeling_<model_type>.py fixes and no config key states."""
    return FieldSource(kind="default", detail=f"transformers modeling_{model_type}: {fact}")


def from_remote_code(repo_file: str, fact: str) -> FieldSource:
    """A fact a Hub repo's own modeling file (`trust_remote_code`) fixes and no config key
    states."""
    return FieldSource(kind="default", detail=f"the Hub repos' {repo_file}: {fact}")
