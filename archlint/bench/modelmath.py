"""The model math of a bench layer, in plain Python (no torch): rotary frequencies with their
scalings, the softmax scale, the (query, key) pairs attention visits, and the bytes and FLOPs a
call must at least move and do (the roofline's floor).

Sources: HF transformers' `rope_init_functions` (modeling_rope_utils.py) for the default,
linear, llama3 and YaRN frequencies; Peng et al. 2023, "YaRN" (arXiv 2309.00071) §3 for the
ramp and the attention factor; DeepSeek-V3's modeling_deepseek.py (`yarn_get_mscale`,
DeepseekV3Attention's softmax_scale) for MLA's mscale².
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from archlint.bench.kernelmods import kernel_module
from archlint.spec import AttentionSpec

attention_pairs = kernel_module("work").attention_pairs


def yarn_mscale(scale: float, mscale: float = 1.0) -> float:
    """YaRN's attention temperature: 0.1·mscale·ln(scale) + 1 (1 when not extending)."""
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def _llama3(inv: list[float], rs: dict[str, Any], factor: float) -> list[float]:
    """Llama 3.1: wavelengths above original/low_freq_factor divided by `factor`, below
    original/high_freq_factor kept, a linear blend in between."""
    low = float(rs.get("low_freq_factor", 1.0))
    high = float(rs.get("high_freq_factor", 4.0))
    old = float(rs.get("original_max_position_embeddings", 8192))
    low_wl, high_wl = old / low, old / high
    out = []
    for f in inv:
        wl = 2 * math.pi / f
        if wl < high_wl:
            out.append(f)
        elif wl > low_wl:
            out.append(f / factor)
        else:
            s = (old / wl - low) / (high - low)
            out.append((1 - s) * f / factor + s * f)
    return out


def _yarn(inv: list[float], rs: dict[str, Any], factor: float, base: float,
          rot_dim: int) -> tuple[list[float], float]:
    """YaRN: interpolated (f / factor) and extrapolated (f) frequencies blended by a ramp
    between the dimensions that turn beta_fast and beta_slow times in the original context;
    the attention factor from `attention_factor`, or mscale/mscale_all_dim (DeepSeek), or
    0.1·ln(factor) + 1."""
    old = float(rs.get("original_max_position_embeddings", 4096))
    beta_fast = float(rs.get("beta_fast", 32))
    beta_slow = float(rs.get("beta_slow", 1))

    def corr(rot: float) -> float:
        return (rot_dim * math.log(old / (rot * 2 * math.pi))) / (2 * math.log(base))

    lo, hi = corr(beta_fast), corr(beta_slow)
    if rs.get("truncate", True):
        lo, hi = math.floor(lo), math.ceil(hi)
    lo, hi = max(lo, 0), min(hi, rot_dim - 1)
    if lo == hi:
        hi += 0.001
    out = []
    for i, f in enumerate(inv):
        ramp = min(1.0, max(0.0, (i - lo) / (hi - lo)))
        extra = 1.0 - ramp  # weight of the extrapolated (original) frequency
        out.append(f / factor * (1 - extra) + f * extra)
    if "attention_factor" in rs:
        attn_factor = float(rs["attention_factor"])
    elif "mscale" in rs and "mscale_all_dim" in rs:
        attn_factor = yarn_mscale(factor, float(rs["mscale"])) / yarn_mscale(
            factor, float(rs["mscale_all_dim"]))
    else:
        attn_factor = yarn_mscale(factor)
    return out, attn_factor


def rope_frequencies(att: AttentionSpec, rot_dim: int) -> tuple[list[float], float]:
    """(inv_freq [rot_dim/2], attention factor) for the layer's rope_theta and rope_scaling.

    default: θ^(-2i/d). linear: / factor. llama3 and YaRN as above; YaRN's attention factor
    scales cos and sin (so q·k by its square). "dynamic" NTK only changes past the original
    context and is treated as default here.
    """
    base = att.rope_theta or 10000.0
    inv = [base ** (-(2 * i) / rot_dim) for i in range(rot_dim // 2)]
    rs = att.rope_scaling or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    factor = float(rs.get("factor", 1.0) or 1.0)
    if kind == "linear":
        return [f / factor for f in inv], 1.0
    if kind == "llama3":
        return _llama3(inv, rs, factor), 1.0
    if kind == "yarn":
        return _yarn(inv, rs, factor, base, rot_dim)
    return inv, 1.0


def softmax_scale(att: AttentionSpec, attn_factor: float) -> float:
    """1/sqrt(qk head dim), times the YaRN attention factor squared (cos and sin each carry it,
    so q·k carries its square); DeepSeek's MLA also multiplies by mscale(factor,
    mscale_all_dim)² (modeling_deepseek.py DeepseekV3Attention)."""
    scale = 1.0 / math.sqrt(att.head_dim)
    rs = att.rope_scaling or {}
    if att.kind == "mla" and rs.get("mscale_all_dim"):
        m = yarn_mscale(float(rs.get("factor", 1.0)), float(rs["mscale_all_dim"]))
        scale *= m * m
    return scale * attn_factor * attn_factor


def config_value(config: dict[str, Any] | None, key: str, default: Any) -> Any:
    """A config key read through the one config view (`archlint.families.config_view`: the
    language model's sub-config before the wrapper's, aliases, transformers' default for the
    model type), as the spec and the rules read it; `default` when no one answers."""
    if not config:
        return default
    from archlint.families import config_view

    value, _ = config_view(config).lookup(key)
    return default if value is None else value


@dataclass(frozen=True)
class Work:
    """The floor of one call: bytes it must move and FLOPs it must do."""

    bytes: float
    flops: float

    def roofline_s(self, bandwidth: float, flops_per_s: float) -> float:
        return max(self.bytes / bandwidth, self.flops / flops_per_s)

    def bound(self, bandwidth: float, flops_per_s: float) -> str:
        return "memory" if self.bytes / bandwidth >= self.flops / flops_per_s else "compute"


__all__ = ["Work", "attention_pairs", "config_value", "rope_frequencies", "softmax_scale",
           "yarn_mscale"]
