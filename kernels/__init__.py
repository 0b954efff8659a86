"""Triton kernels for `archlint bench` and their plain-torch references.

Importing this package imports nothing heavy; each kernel file imports torch and triton itself:

    from archlint.kernels.attention_prefill import prefill_attention
    from archlint.kernels.attention_decode import decode_attention
    from archlint.kernels.mla import mla_decode, mla_decode_absorbed, mla_prefill
    from archlint.kernels.moe import fused_moe, route_softmax_topk, route_sigmoid_grouped_topk
    from archlint.kernels.rmsnorm import rmsnorm
    from archlint.kernels.rope import rope
    from archlint.kernels import reference

`python -m archlint.kernels.compile_check` compiles every kernel for sm_90 without a GPU.
"""

KERNEL_MODULES = (
    "attention_prefill", "attention_decode", "mla", "moe_tma", "moe", "rmsnorm", "rope", "ssd",
    "gated_delta",
)
