"""How a checkpoint stores each component's parameters, from what its config declares: the
bytes one parameter takes (scales included) and the config key that said so.

A quantizer converts the linear weights it is pointed at and leaves the rest in the checkpoint
dtype. Per stored value, with its share of the scales:

- fp8 with `weight_block_size` [a, b] (DeepSeek-V3 report §3.3.2, transformers'
  FineGrainedFP8): 1 B + one scale per a × b block, a float32 `weight_scale_inv` (4 B, as
  DeepSeek-V3's checkpoints hold it) or, where the family's format stores it so
  (`QuantizationSpec.scale_dtype`), one float8_e8m0fnu byte (DeepSeek-V4's `.scale`
  tensors): 1 + 1/16,384 B at 128 × 128. `scale_fmt: ue8m0` alone says the scales are
  powers of two, not how they are stored: DeepSeek-V3.1/V3.2 declare it and keep float32
  scales (DeepSeek-V3.2-Exp-Base's tensor types: BF16, F8_E4M3, F32; no F8_E8M0).
- mxfp4 (OCP Microscaling Formats v1.0): E2M1 values, two per byte, one E8M0 scale per 32
  values: 0.5 + 1/32 = 0.53125 B (gpt-oss's `_blocks` / `_scales`; DeepSeek-V4's
  `expert_dtype: fp4` experts, int8-packed with a float8_e8m0fnu scale per 32 inputs).
- nvfp4 (NVIDIA ModelOpt): E2M1 values with one E4M3 scale per 16 values: 0.5 + 1/16 B (the
  per-tensor float32 scalars are negligible).
- any other method: bits / 8, its scales not counted.

Components a quantizer leaves alone: the embedding, the LM head, the norms, the router (the
checkpoints of DeepSeek-V3/V4, GLM-4.5 and gpt-oss keep them in 16 bits), `other` (modules
adapters count outside the blocks, hyper-connections and poolers: not the quantized linear
layers), whatever `quantization_config.modules_to_not_convert` names (mapped to components
by the tensor names `archlint.tensors` classifies), and a component the spec says is stored
another way (`QuantizationSpec.component_methods`: DeepSeek-V4's `expert_dtype`).
"""

from __future__ import annotations

from dataclasses import dataclass

from archlint.dtypes import named_dtype_bytes
from archlint.spec import ModelSpec, QuantizationSpec
from archlint.tensors import COMPONENTS, component_of

#: components a quantizer keeps in the checkpoint dtype whatever it converts
KEPT_COMPONENTS = ("embedding", "head", "norms", "router", "other")
#: the key a linear projection outside any component takes in a breakdown (an MTP module's
#: eh_proj): stored as the quantized linear weights are
LINEAR = "projection"


@dataclass(frozen=True)
class Storage:
    """One component's stored format: `bytes_per_param` with scales, `source` the key."""

    name: str
    bytes_per_param: float
    source: str
    quantized: bool = False


def method_storage(method: str, quant: QuantizationSpec, source: str) -> Storage:
    """The stored bytes per value of linear weights quantized by `method` (module docstring)."""
    if method == "mxfp4":
        return Storage("mxfp4: e2m1 + e8m0 scale per 32", 0.5 + 1 / 32, source, True)
    if method == "nvfp4":
        return Storage("nvfp4: e2m1 + e4m3 scale per 16", 0.5 + 1 / 16, source, True)
    block = quant.block_size
    if method == "fp8" and block and len(block) == 2 and block[0] > 0 and block[1] > 0:
        e8m0 = quant.scale_dtype == "float8_e8m0fnu"
        scale = 1 if e8m0 else 4
        return Storage(
            f"fp8 e4m3 + {'ue8m0' if e8m0 else 'fp32'} scale per {block[0]}×{block[1]} block",
            1 + scale / (block[0] * block[1]), source, True,
        )
    bits = quant.bits or 8
    return Storage(f"{method} {bits:g}-bit, scales not counted", bits / 8, source, True)


def _unconverted(quant: QuantizationSpec) -> set[str]:
    """The components `modules_to_not_convert` names (`model.layers.*.self_attn` →
    attention, `lm_head` → head): each entry classified as a tensor of that module."""
    out: set[str] = set()
    for entry in quant.modules_not_converted:
        name = str(entry).replace("*", "0").rstrip(".")
        component = component_of(name + ".weight")
        if component != "other":
            out.add(component)
    return out


def storage_by_component(spec: ModelSpec, dtype: str) -> dict[str, Storage]:
    """Each component's stored format for a checkpoint of `spec` in `dtype` (its 16/32-bit
    dtype), from its quantization config; every component in `dtype` when unquantized."""
    plain = Storage(dtype, named_dtype_bytes(dtype), "torch_dtype")
    quant = spec.quantization
    if quant is None or not (quant.bits or quant.method in ("mxfp4", "nvfp4")):
        return {c: plain for c in (*COMPONENTS, LINEAR)}
    linear = method_storage(quant.method, quant, "quantization_config.quant_method")
    kept = set(KEPT_COMPONENTS) | _unconverted(quant)
    out = {c: plain if c in kept else linear for c in (*COMPONENTS, LINEAR)}
    for component in kept - set(KEPT_COMPONENTS):
        out[component] = Storage(dtype, plain.bytes_per_param,
                                 "quantization_config.modules_to_not_convert")
    for component, method in quant.component_methods.items():
        source = quant.component_sources.get(component, "config")
        out[component] = method_storage(method, quant, source)
    return out


def describe(plan: dict[str, Storage], counts: dict[str, int]) -> str:
    """One line: each format with the components it holds (those with parameters)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for component in COMPONENTS:
        # an MTP module's parts are stored as the main model's (profile._estimated_split)
        if counts.get(component) and component != "mtp":
            entry = plan[component]
            groups.setdefault((entry.name, entry.source), []).append(
                component.replace("_", " "))
    return "; ".join(f"{', '.join(names)}: {name} ({source})"
                     for (name, source), names in groups.items())
