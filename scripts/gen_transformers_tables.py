"""Generate archlint/families/transformers_tables.json.gz from transformers' configuration classes.

For every `model_type` in transformers' CONFIG_MAPPING this records what a default-constructed
configuration holds, so that archlint (which never imports transformers) can give a key a
config omits the default transformers would apply:

- `config_class`: the configuration class name;
- `defaults`: `to_dict()` of `ConfigClass()` without bookkeeping keys (labels, output flags),
  nested sub-configs (text_config, vision_config, ...) as dicts with their own `model_type`;
- `derived`: keys whose instance value differs from the dataclass field default, i.e. values
  `__post_init__` computes from other keys (Llama's `head_dim = hidden_size // heads`): a
  config that sets other keys must not take these as constants;
- `overridden`: derived keys whose declared value the class ignores (`replaced_keys`:
  UnlimitedOcrText recomputes head_dim from hidden_size // num_attention_heads always);
- `attribute_map`: dialect alias -> canonical attribute (`n_embd` -> `hidden_size`);
- `sub_configs`: sub-config key -> model_type of its default;
- `models`: Auto-mapping name (causal_lm, base, seq2seq_lm, image_text_to_text, ...) -> model
  class name;
- `category` and `modalities`: derived from the Auto mappings (see `categorise`).

Run with transformers installed (the `test` extra pins the version):
    python scripts/gen_transformers_tables.py [--out PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "archlint" / "families" / "transformers_tables.json.gz"
FORMAT = 1

#: PretrainedConfig bookkeeping that says nothing about the architecture.
DROPPED = frozenset(
    {
        "transformers_version",
        "_name_or_path",
        "output_hidden_states",
        "output_attentions",
        "return_dict",
        "id2label",
        "label2id",
        "problem_type",
        "chunk_size_feed_forward",
        "architectures",
    }
)

# Auto-mapping names (modeling_auto.MODEL_FOR_<X>_MAPPING_NAMES) grouped by what they tell
# about a model type.
TEXT_GEN = ("CAUSAL_LM",)
SEQ2SEQ = ("SEQ_TO_SEQ_CAUSAL_LM",)
MULTIMODAL_GEN = (
    "IMAGE_TEXT_TO_TEXT",
    "MULTIMODAL_LM",
    "SPEECH_SEQ_2_SEQ",
    "VISUAL_QUESTION_ANSWERING",
)
TEXT_ENC = (
    "MASKED_LM",
    "TEXT_ENCODING",
    "SEQUENCE_CLASSIFICATION",
    "TOKEN_CLASSIFICATION",
    "QUESTION_ANSWERING",
    "MULTIPLE_CHOICE",
    "NEXT_SENTENCE_PREDICTION",
)
TIME_SERIES = ("TIME_SERIES_CLASSIFICATION", "TIME_SERIES_PREDICTION", "TIME_SERIES_REGRESSION")
AUDIO = (
    "AUDIO_CLASSIFICATION",
    "AUDIO_FRAME_CLASSIFICATION",
    "AUDIO_XVECTOR",
    "CTC",
    "RNNT",
    "TDT",
    "TEXT_TO_WAVEFORM",
    "TEXT_TO_SPECTROGRAM",
    "SPEECH_SEQ_2_SEQ",
)
VIDEO = ("VIDEO_CLASSIFICATION",)
VISION = (
    "IMAGE_CLASSIFICATION",
    "IMAGE",
    "BACKBONE",
    "OBJECT_DETECTION",
    "SEMANTIC_SEGMENTATION",
    "INSTANCE_SEGMENTATION",
    "UNIVERSAL_SEGMENTATION",
    "IMAGE_SEGMENTATION",
    "DEPTH_ESTIMATION",
    "MASKED_IMAGE_MODELING",
    "ZERO_SHOT_IMAGE_CLASSIFICATION",
    "ZERO_SHOT_OBJECT_DETECTION",
    "MASK_GENERATION",
    "KEYPOINT_DETECTION",
    "KEYPOINT_MATCHING",
    "IMAGE_TO_IMAGE",
    "IMAGE_MATTING",
    "DEPTH_ESTIMATION",
    "NORMAL_ESTIMATION",
    "POSE_ESTIMATION",
    "POINTMAP_ESTIMATION",
    "CAUSAL_IMAGE_MODELING",
    "DOCUMENT_QUESTION_ANSWERING",
    "TEXT_RECOGNITION",
    "TABLE_RECOGNITION",
)
VISION_KEYS = ("vision_config", "vision_encoder_config", "visual", "image_config", "vq_config")
AUDIO_KEYS = ("audio_config", "audio_encoder_config", "speech_config", "encoder_config_audio")


def json_safe(value: Any) -> Any:
    """Plain JSON values; non-finite floats stay floats (Python's json reads and writes them
    as Infinity/NaN, as it does in upstream config.json files)."""
    if value is None or isinstance(value, (bool, int, str, float)):
        return value  # a non-finite float stays one: json writes and reads Infinity/NaN
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(json_safe(v) for v in value)
    if hasattr(value, "to_dict"):
        return json_safe(value.to_dict())
    return str(value)


def strip(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in d.items():
        if key in DROPPED:
            continue
        if isinstance(value, dict) and "model_type" in value:
            value = strip(value)
        out[key] = value
    return out


def field_defaults(cls: type) -> dict[str, Any]:
    if not dataclasses.is_dataclass(cls):
        return {}
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            try:
                out[f.name] = f.default_factory()
            except Exception:
                continue
    return out


def auto_models() -> dict[str, dict[str, str]]:
    """model_type -> {mapping name -> model class}."""
    from transformers.models.auto import modeling_auto

    out: dict[str, dict[str, str]] = {}
    for attr in sorted(dir(modeling_auto)):
        if not attr.endswith("_MAPPING_NAMES") or attr == "CONFIG_MAPPING_NAMES":
            continue
        if attr == "MODEL_MAPPING_NAMES":
            name = "BASE"
        else:
            name = attr[len("MODEL_FOR_") : -len("_MAPPING_NAMES")]
        for model_type, cls_name in getattr(modeling_auto, attr).items():
            if isinstance(cls_name, (list, tuple)):
                cls_name = cls_name[0]
            out.setdefault(model_type, {})[name.lower()] = cls_name
    return out


def categorise(
    models: dict[str, str], sub_configs: dict[str, str | None]
) -> tuple[str, list[str]]:
    """(category, modalities). Multimodal = generates text and takes image/audio/video input;
    decoder = causal LM on text; encoder-decoder = text seq2seq; encoder = a text encoder;
    else vision / audio / video / time-series / other (outside archlint's analyser)."""
    maps = {m.upper() for m in models}
    keys = set(sub_configs)
    modalities = ["text"]
    has_vision = bool(keys & set(VISION_KEYS)) or bool(
        maps & {"IMAGE_TEXT_TO_TEXT", "VISUAL_QUESTION_ANSWERING"}
    )
    has_audio = bool(keys & set(AUDIO_KEYS)) or "SPEECH_SEQ_2_SEQ" in maps
    if has_vision:
        modalities.append("image")
    if has_audio:
        modalities.append("audio")
    if maps & set(TIME_SERIES):
        return "time-series", ["time-series"]
    generates = bool(maps & set(TEXT_GEN + SEQ2SEQ + MULTIMODAL_GEN))
    if generates and (has_vision or has_audio or maps & set(MULTIMODAL_GEN)):
        if len(modalities) == 1:
            modalities.append("image")  # in an image/multimodal LM mapping without a key we know
        return "multimodal", modalities
    if maps & set(SEQ2SEQ):
        return "encoder-decoder", ["text"]
    if maps & {"TEXT_TO_WAVEFORM", "TEXT_TO_SPECTROGRAM"}:
        return "audio", ["audio"]  # MusicGen: a causal LM over audio codes
    if maps & set(TEXT_GEN) and "MASKED_LM" in maps:
        return "encoder", ["text"]  # BERT-style encoders also ship a *ForCausalLM head
    if maps & set(TEXT_GEN):
        return "decoder", ["text"]
    if maps & set(AUDIO):
        return "audio", ["audio"]
    if maps & set(VIDEO):
        return "video", ["video"]
    if maps & set(VISION):
        if maps & {"ZERO_SHOT_IMAGE_CLASSIFICATION", "ZERO_SHOT_OBJECT_DETECTION"}:
            return "vision-text", ["image", "text"]
        return "vision", ["image"]
    if maps & set(TEXT_ENC):
        return "encoder", ["text"]
    return "other", []


def replaced_keys(config_cls: type, defaults: dict[str, Any], derived: list[str]) -> list[str]:
    """The derived integer keys whose declared value the class ignores, replacing it with one
    it computes from other keys (UnlimitedOcrText's `__post_init__` sets head_dim =
    hidden_size // num_attention_heads whatever the config says; Llama's keeps a declared
    head_dim): declared at twice and at three times its default, it comes back the same
    value both times, neither declared one. A key the class transforms instead (HrmText reads
    a declared num_hidden_layers as its per-stack count) comes back different and is not one
    of these; a class that refuses either value says nothing (the key is left out)."""
    out = []
    for key in derived:
        value = defaults.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            continue
        try:
            built = [getattr(config_cls(**{key: n * value}), key, None) for n in (2, 3)]
        except Exception:
            continue
        if built[0] == built[1] and built[0] not in (2 * value, 3 * value):
            out.append(key)
    return out


def table_for(model_type: str, config_cls: type, models: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"config_class": config_cls.__name__}
    entry["attribute_map"] = dict(getattr(config_cls, "attribute_map", {}) or {})
    try:
        config = config_cls()
    except Exception as exc:  # a config class that needs arguments: recorded, not fatal
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        entry["error"] = f"{type(exc).__name__}: {first}"
        config = None
    subs: dict[str, str | None] = {}
    for key in getattr(config_cls, "sub_configs", {}) or {}:
        sub = getattr(config, key, None) if config is not None else None
        subs[key] = getattr(sub, "model_type", None) if sub is not None else None
    entry["sub_configs"] = subs
    if config is not None:
        defaults = json_safe(strip(config.to_dict()))
        entry["defaults"] = defaults
        declared = json_safe(field_defaults(config_cls))
        entry["derived"] = sorted(
            k
            for k, v in defaults.items()
            if k in declared and declared[k] != v and k not in subs
        )
        overridden = replaced_keys(config_cls, defaults, entry["derived"])
        if overridden:
            entry["overridden"] = overridden
    entry["models"] = models
    entry["category"], entry["modalities"] = categorise(models, subs)
    return entry


def mark_components(types: dict[str, Any]) -> None:
    """A type with no task mapping of its own that is another type's sub-config (qwen2_vl_text,
    siglip_vision_model) is a component: it is checked through the model that holds it."""
    parents: dict[str, list[str]] = {}
    for model_type, entry in types.items():
        for sub in (entry.get("sub_configs") or {}).values():
            if sub and sub != model_type:
                parents.setdefault(sub, []).append(model_type)
    for model_type, entry in types.items():
        defaults = entry.get("defaults") or {}
        if entry.get("category") == "other" and "prediction_length" in defaults:
            entry["category"], entry["modalities"] = "time-series", ["time-series"]
        elif entry.get("category") == "other" and model_type in parents:
            entry["category"] = "component"
            entry["part_of"] = sorted(parents[model_type])


def build() -> dict[str, Any]:
    import transformers
    from transformers import CONFIG_MAPPING
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    models = auto_models()
    types: dict[str, Any] = {}
    for model_type in sorted(CONFIG_MAPPING_NAMES):
        try:
            config_cls = CONFIG_MAPPING[model_type]
        except Exception as exc:
            types[model_type] = {"error": f"{type(exc).__name__}: cannot import config class"}
            continue
        types[model_type] = table_for(model_type, config_cls, models.get(model_type, {}))
    mark_components(types)
    return {"format": FORMAT, "transformers_version": transformers.__version__, "types": types}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    import warnings

    warnings.filterwarnings("ignore")
    data = build()
    payload = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    args.out.write_bytes(gzip.compress(payload, compresslevel=9, mtime=0))
    # the index beside it: where each entry lies, so that a report decodes only its own
    from archlint.families.tf_tables import index_of

    index = json.dumps(index_of(payload), separators=(",", ":"), sort_keys=True)
    args.out.with_name(args.out.name.replace(".json.gz", ".index.json")).write_text(index + "\n")
    errors = sum(1 for t in data["types"].values() if "error" in t)
    print(
        f"{len(data['types'])} model types ({errors} without defaults), transformers "
        f"{data['transformers_version']}, {len(payload)} B json -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
