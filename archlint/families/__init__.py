"""Config dialects → ModelSpec. One adapter per dialect, registered through the
`archlint.families` entry-point group (the built-ins too, see `registry`); unknown types fall
back to the generic reader, marked as best-effort."""

from __future__ import annotations

from typing import Any, ClassVar

from archlint.families import mtp, tf_structure, tf_tables
from archlint.families.base import Adapter, ConfigView
from archlint.families.dialects import DeepSeek
from archlint.families.encdec import GenericEncoderDecoder, has_stack_keys
from archlint.families.registry import adapters_by_type
from archlint.families.validate import validate_config
from archlint.spec import FFNSpec, LayerSpec, ModelSpec


class Generic(Adapter):
    """A model type no adapter knows: standard keys, with what transformers' modeling code
    builds for the type (`tf_structure`: gated MLP or not, norm kind, biases, q/k norms) as
    the defaults no key states; reported as best-effort."""

    name = "generic"
    known = False

    def gated_ffn(self) -> bool:
        return bool(self.structure_fact("gated_mlp", True))

    def norm_kind(self) -> str:
        return str(self.structure_fact("norm", "rmsnorm"))

    def norm_bias(self) -> bool:
        return bool(self.structure_fact("norm_bias", self.norm_kind() == "layernorm"))

    def norms_per_layer(self) -> int:
        return int(self.structure_fact("norms_per_layer", 2))

    def qk_norm(self) -> bool:
        return super().qk_norm() or bool(self.structure_fact("qk_norm", False))

    def qkv_bias(self) -> bool:
        if self.cv.lookup("attention_bias", "qkv_bias", "use_bias", "bias")[1] is not None:
            return super().qkv_bias()
        return bool(self.structure_fact("qkv_bias", False))

    def o_bias(self) -> bool:
        if self.cv.lookup("attention_bias", "use_bias", "bias")[1] is not None:
            return super().o_bias()
        return bool(self.structure_fact("o_bias", False))

    def ffn(self, index: int) -> FFNSpec:
        spec = super().ffn(index)
        if self.cv.lookup("ffn_bias", "mlp_bias", "use_bias", "bias")[1] is None:
            spec = spec.model_copy(update={"bias": bool(self.structure_fact("mlp_bias", False))})
        return spec

    def learned_positions(self) -> bool:
        return super().learned_positions() or bool(self.structure_fact("learned_positions", False))

    def head_bias(self) -> bool:
        return bool(self.structure_fact("head_bias", False))

    def architecture(self) -> str:
        mt = self.cv.lookup("model_type")[0]
        if not (isinstance(mt, str) and tf_tables.category(mt) == "encoder"):
            return "decoder"
        # a text model transformers ships only as a base class (Molmo2TextModel) reads as an
        # encoder, but inside a wrapper that generates text (a multimodal-LM class) it is the
        # causal language model, with its cache
        root = self.cv.root.get("model_type")
        wrapped_lm = bool(self.cv.prefix) and isinstance(root, str) and (
            "multimodal_lm" in tf_tables.model_classes(root)
        )
        return "decoder" if wrapped_lm else "encoder"


class GenericMLA(Generic, DeepSeek):
    """An unknown model type that declares MLA's ranks (kv_lora_rank, qk_rope_head_dim...):
    the generic reader with DeepSeek's reading of the attention and MoE keys, and its MTP
    modules in transformers' form, without DeepSeek-V3's stored embedding and head copies
    (GLM-5's layer 78 holds none: `archlint.families.mtp`)."""

    name = "generic"
    known = False
    model_types: ClassVar[tuple[str, ...]] = ()

    def mtp_layers(self) -> list[LayerSpec]:
        return mtp.modules(self)


def config_view(config: dict[str, Any]) -> ConfigView:
    """The view of `config` its language model's adapter reads through (the wrapper's own
    keys included when an adapter is registered for the wrapper itself, as `adapter_for`
    picks): what the rules read config keys with, so a rule and the spec agree on each key."""
    view = ConfigView(config)
    if config.get("model_type") in adapters_by_type():
        view.lm_only = False
    return view


def adapter_for(
    config: dict[str, Any],
    *,
    inferred: bool = False,
    origins: dict[str, dict[str, Any]] | None = None,
) -> Adapter:
    """The adapter for a config's dialect. `inferred`: a config synthesised from tensor shapes
    (archlint.inference), whose values are recorded as inferred rather than declared.
    `origins`: where each config key came from when not from a config.json (GGUF)."""
    view = ConfigView(config)
    model_type = view.lookup("model_type")[0]
    if inferred:
        adapter: Adapter = Generic(config, inferred=True)
        adapter.notes.append(
            "no config.json: architecture inferred from tensor shapes; head counts assume "
            "head_dim 128 (or 64)"
        )
        return adapter
    by_type = adapters_by_type()
    root_type = config.get("model_type")
    if isinstance(root_type, str) and root_type in by_type:
        # an adapter for the wrapper itself (ModernVBERT around ModernBERT) reads it whole
        return by_type[root_type](config, origins=origins)
    if isinstance(model_type, str) and model_type in by_type:
        return by_type[model_type](config, origins=origins)
    dialect = _dialect_adapter(model_type, by_type)
    if dialect is not None:
        adapter = dialect(config, origins=origins)
        adapter.notes.append(
            f"model type {model_type!r} read as the {dialect.name} dialect: transformers' "
            f"modeling builds exactly the modules the {dialect.name} reader counts"
        )
        return adapter
    text_type = _text_model_type(config)
    if text_type in by_type:
        # A multimodal wrapper around a language model archlint knows (LLaVA around Llama,
        # Mistral-3 around Mistral): the language model's adapter reads text_config, the
        # towers come from the vision/audio sub-configs.
        return by_type[text_type](config, origins=origins)
    if model_type is None and "dim" in config and "n_layers" in config:
        # Vendor-native configs (DeepSeek inference/configs/*.json, Mistral params.json).
        adapter = by_type["deepseek_v3" if "kv_lora_rank" in config else "llama"](config)
        adapter.notes.append("read from a vendor-native config (not a Hugging Face config.json)")
        return adapter
    if has_stack_keys(config):
        # An unknown type with an encoder and a decoder depth: two stacks, not one.
        adapter = GenericEncoderDecoder(config, origins=origins)
    elif isinstance(view.lookup("kv_lora_rank")[0], int):
        # An unknown type with DeepSeek's latent-attention keys: read them as MLA (the
        # keys have one meaning across the MLA families), still reported as best-effort.
        adapter = GenericMLA(config, origins=origins)
    else:
        adapter = Generic(config, origins=origins)
    adapter.notes.append(
        f"model type {model_type!r} has no adapter: best-effort report from standard keys "
        "and tensor shapes"
    )
    return adapter


def _dialect_adapter(model_type: Any, by_type: dict[str, type[Adapter]]) -> type[Adapter] | None:
    """The adapter whose dialect transformers' modeling of this type was observed to be
    (`tf_structure` fact `dialect`, generated from the modules it builds)."""
    if not isinstance(model_type, str):
        return None
    name = tf_structure.facts(model_type).get("dialect")
    return next((a for a in by_type.values() if a.name == name), None) if name else None


def _text_model_type(config: dict[str, Any]) -> str | None:
    """The language model's type inside a wrapper: text_config's own model_type, else the
    one transformers' configuration class defaults it to."""
    nested = config.get("text_config")
    if isinstance(nested, dict) and isinstance(nested.get("model_type"), str):
        return str(nested["model_type"])
    root = config.get("model_type")
    if isinstance(root, str):
        return tf_tables.sub_configs(root).get("text_config")
    return None


def build_spec(
    config: dict[str, Any],
    *,
    inferred: bool = False,
    origins: dict[str, dict[str, Any]] | None = None,
) -> ModelSpec:
    """The ModelSpec a config declares (before any comparison with tensors)."""
    validate_config(config, inferred=inferred)
    return adapter_for(config, inferred=inferred, origins=origins).build()


__all__ = ["Adapter", "ConfigView", "adapter_for", "build_spec", "config_view"]
