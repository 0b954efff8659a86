"""GGUF tensor names → the Hugging Face names archlint's tables classify.

llama.cpp names tensors by role, not by module path (gguf-py `constants.TENSOR_NAMES`,
`convert_hf_to_gguf.py`): `token_embd`, `blk.N.attn_q`, `blk.N.ffn_gate_exps`, `output`...
Each GGUF name here is given the Hugging Face name of the module it holds, so the component
rules (archlint.tensors) and the shape rules (rules/_shapes.py) read both formats with one
table each. What is kept as GGUF: the tensor's own name (reports show it) and its type.

Shapes: GGUF stores ggml's `ne`, innermost dimension first; archlint keeps shapes in PyTorch
order (ne reversed), so `blk.0.attn_q.weight` with ne `[4096, 4096]` is `[out, in]` like
`q_proj.weight`, and the stacked experts `ffn_gate_exps` (ne `[hidden, width, experts]`) are
`[experts, width, hidden]`: `[E, out, in]`.
"""

from __future__ import annotations

import re

#: Part after `blk.N.` (without `.weight`/`.bias`) → Hugging Face module path in the layer.
LAYER_NAMES: dict[str, str] = {
    "attn_norm": "input_layernorm",
    "attn_norm_2": "input_layernorm_2",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_qkv": "self_attn.qkv_proj",
    "attn_output": "self_attn.o_proj",
    "attn_q_norm": "self_attn.q_norm",
    "attn_k_norm": "self_attn.k_norm",
    "attn_sinks": "self_attn.sinks",
    "attn_gate": "self_attn.gate_proj",
    "attn_rot_embd": "self_attn.rotary_emb.inv_freq",
    "attn_output_norm": "post_attention_layernorm",
    "post_attention_norm": "post_attention_layernorm",
    "attn_post_norm": "post_attention_layernorm",
    "attn_q_a": "self_attn.q_a_proj",
    "attn_q_b": "self_attn.q_b_proj",
    "attn_q_a_norm": "self_attn.q_a_layernorm",
    "attn_kv_a_mqa": "self_attn.kv_a_proj_with_mqa",
    "attn_kv_a_norm": "self_attn.kv_a_layernorm",
    "attn_kv_b": "self_attn.kv_b_proj",
    # llama.cpp splits kv_b into its K and V halves for MLA's absorbed form.
    "attn_k_b": "self_attn.k_b_proj",
    "attn_v_b": "self_attn.v_b_proj",
    "attn_sub_norm": "self_attn.sub_layernorm",
    "ffn_norm": "pre_feedforward_layernorm",
    "pre_ffw_norm": "pre_feedforward_layernorm",
    "post_ffw_norm": "post_feedforward_layernorm",
    "ffn_sub_norm": "mlp.sub_layernorm",
    "layer_output_norm": "output_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "ffn_gate_inp": "mlp.gate",
    "exp_probs_b": "mlp.gate.e_score_correction_bias",
    "ffn_gate_exps": "mlp.experts.stacked_gate_proj",
    "ffn_up_exps": "mlp.experts.stacked_up_proj",
    "ffn_down_exps": "mlp.experts.stacked_down_proj",
    "ffn_gate_up_exps": "mlp.experts.stacked_gate_up_proj",
    "ffn_gate_shexp": "mlp.shared_expert.gate_proj",
    "ffn_up_shexp": "mlp.shared_expert.up_proj",
    "ffn_down_shexp": "mlp.shared_expert.down_proj",
    "ffn_gate_inp_shexp": "mlp.shared_expert_gate",
    # Mamba / Mamba-2 / hybrid SSM layers (llama.cpp `ssm_*`): the token mixer.
    "ssm_in": "mixer.in_proj",
    "ssm_conv1d": "mixer.conv1d",
    "ssm_x": "mixer.x_proj",
    "ssm_dt": "mixer.dt_proj",
    "ssm_a": "mixer.A_log",
    "ssm_d": "mixer.D",
    "ssm_norm": "mixer.norm",
    "ssm_dt_norm": "mixer.dt_layernorm",
    "ssm_b_norm": "mixer.b_layernorm",
    "ssm_c_norm": "mixer.c_layernorm",
    "ssm_out": "mixer.out_proj",
    "ssm_ba": "mixer.in_proj_ba",
    "ssm_beta": "mixer.beta_proj",
    "ssm_alpha": "mixer.alpha_proj",
    "shortconv.conv": "mixer.conv",
    "shortconv.in_proj": "mixer.in_proj",
    "shortconv.out_proj": "mixer.out_proj",
}

#: Top-level GGUF names → Hugging Face names.
TOP_NAMES: dict[str, str] = {
    "token_embd": "model.embed_tokens",
    "token_embd_norm": "model.embed_layernorm",
    "token_types": "model.token_type_embeddings",
    "position_embd": "model.embed_positions",
    "output_norm": "model.norm",
    "output": "lm_head",
    "rope_freqs": "model.rotary_emb.inv_freq",
    "rope_factors_long": "model.rotary_emb.long_factor",
    "rope_factors_short": "model.rotary_emb.short_factor",
}

_TOP = re.compile(r"^([a-z_]+?)(\.weight|\.bias)?$")


def gguf_pieces(pieces: tuple[str, ...]) -> tuple[str, ...] | None:
    """A name's text between its number segments, GGUF → Hugging Face: `("blk",
    ".attn_q.weight")` → `("model.layers", ".self_attn.q_proj.weight")`; a top-level
    `("token_embd.weight",)` → `("model.embed_tokens.weight",)`. None for a name that is not
    llama.cpp's. The number slots are unchanged, so layer numbers stay where they were. A
    `blk.N.` part the table lacks keeps its GGUF spelling under `model.layers.N.`."""
    if len(pieces) >= 2 and pieces[0] == "blk":
        rest = pieces[1][1:] if len(pieces) == 2 else None
        if rest is None:
            return ("model.layers", *pieces[1:])
        part, dot, suffix = rest.rpartition(".")
        if suffix not in ("weight", "bias"):
            part, dot, suffix = rest, "", ""
        if part.startswith("nextn."):
            return ("model.layers", f".mtp.{part[6:]}{dot}{suffix}")
        return ("model.layers", f".{LAYER_NAMES.get(part, part)}{dot}{suffix}")
    if len(pieces) == 1:
        top = _TOP.match(pieces[0])
        if top is not None and top.group(1) in TOP_NAMES:
            return (TOP_NAMES[top.group(1)] + (top.group(2) or ""),)
    return None

