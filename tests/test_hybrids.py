"""Hybrid and recurrent stacks against hand calculations from transformers' modeling code
(the conformance harness checks the same types against transformers' own modules)."""

from __future__ import annotations

from tests.conformance import archlint_side


def test_zamba2_shared_block_counts_once_its_cache_per_use() -> None:
    # modeling_zamba2: 4 Mamba-2 layers, two of them hybrid, both using the one shared block
    config = {
        "model_type": "zamba2", "hidden_size": 64, "num_hidden_layers": 4, "vocab_size": 100,
        "layers_block_type": ["linear_attention", "hybrid", "linear_attention", "hybrid"],
        "num_attention_heads": 4, "n_mamba_heads": 2, "mamba_d_state": 8, "mamba_d_conv": 4,
        "mamba_expand": 2, "mamba_ngroups": 1, "adapter_rank": 8, "num_mem_blocks": 1,
    }
    got = archlint_side.figures(config)
    # Mamba-2 (d 128, n 8, 1 group, 2 heads, conv 4): in_proj 64 × (2·128 + 2·8 + 2) = 17,536,
    # conv (128 + 16) × 4 + bias 144 = 720, dt_bias/A_log/D 6, gated norm 128, out_proj 8,192,
    # input norm 64 = 26,646 per layer, × 4 = 106,584
    mamba = 4 * (64 * 274 + 144 * 5 + 6 + 128 + 128 * 64 + 64)
    # shared block once: q/k/v 128 → 4 heads × 32 (= 2h / heads) each, o 128 → 64; gate_up
    # 64 → 2 × 256 (4h), down 256 → 64; norms 128 (2h) + 64
    shared = 3 * 128 * 128 + 128 * 64 + 64 * 512 + 256 * 64 + 128 + 64
    # per use: linear 64 × 64 and the gate_up adapter 64 → 8 → 512
    per_use = 2 * (64 * 64 + 8 * (64 + 512))
    assert got.total == 100 * 64 + mamba + shared + per_use + 64 == 237_144
    assert got.kv_full == 2 * 2 * 4 * 32  # K and V of 4 heads × 32 at each of the 2 uses
    # conv (128 + 2 × 8) × (4 − 1) + SSM 2 heads × 64 × 8, per Mamba layer
    assert got.state == 4 * (144 * 3 + 2 * 64 * 8)


def test_rwkv4_time_and_channel_mix() -> None:
    config = {"model_type": "rwkv", "hidden_size": 32, "num_hidden_layers": 2, "vocab_size": 50}
    got = archlint_side.figures(config)
    # modeling_rwkv per block: key/value/receptance 3 × 32², output 32², time_decay and
    # time_first 2 × 32, time_mix_* 3 × 32; channel mix key 32 × 128 (4h), value 128 × 32,
    # receptance 32², time_mix_* 2 × 32; ln1, ln2 with biases 4 × 32
    block = 4 * 32 * 32 + 2 * 32 + 3 * 32 + 2 * 32 * 128 + 32 * 32 + 2 * 32 + 4 * 32
    # embeddings and untied head 2 × 50 × 32, pre_ln and ln_out 2 × 64
    assert got.total == 2 * block + 2 * 50 * 32 + 2 * 64 == 30_656
    assert got.kv_full == 0
    # numerator, denominator, max (32 each) and two token shifts (32 each) per block
    assert got.state == 2 * 5 * 32


def test_olmo_hybrid_derived_linear_sizes() -> None:
    # OlmoHybridConfig.__post_init__: linear heads = 4, Dk = int(0.75 × 64 / 4) = 12, Dv = 24;
    # layers 0-2 Gated DeltaNet, layer 3 attention (i % 4 == 3)
    config = {"model_type": "olmo_hybrid", "hidden_size": 64, "num_hidden_layers": 4,
              "num_attention_heads": 4, "intermediate_size": 96, "vocab_size": 100}
    got = archlint_side.figures(config)
    assert got.layer_kinds == ["linear", "linear", "linear", "full"]
    key, value = 4 * 12, 4 * 24
    # q/k/v/g, a/b, conv over q,k,v (kernel 4), A_log + dt_bias, o_norm Dv, o_proj
    gdn = 64 * (2 * key + 2 * value) + 64 * 8 + (2 * key + value) * 4 + 8 + 24 + value * 64
    attention = 4 * 64 * 64 + 2 * 64  # q/k/v/o (4 KV heads × 16) + q/k norms over 64
    mlp, norms = 3 * 64 * 96, 2 * 64
    assert got.total == 3 * gdn + attention + 4 * (mlp + norms) + 64 + 2 * 100 * 64
    assert got.kv_full == 2 * 4 * 16
    assert got.state == 3 * ((2 * key + value) * 3 + 4 * 12 * 24)


def test_zaya_cca_state_and_router() -> None:
    """ZAYA1's CCA layers cache K/V per token and keep, beside them, the q/k conv history
    and the delayed value half; parameters as transformers builds them (meta device)."""
    import pytest

    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    config = {
        "model_type": "zaya", "hidden_size": 256, "num_hidden_layers": 3,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
        "vocab_size": 500, "cca_time0": 3, "cca_time1": 4, "router_hidden_size": 32,
        "moe_intermediate_size": 64, "num_experts": 4, "attention_bias": True,
        "layer_types": ["hybrid", "hybrid_sliding", "hybrid"], "sliding_window": 64,
    }
    got = archlint_side.figures(config)
    cfg = transformers.ZayaConfig(**{k: v for k, v in config.items() if k != "model_type"})
    with torch.device("meta"):
        want = sum(p.numel() for p in transformers.ZayaForCausalLM(cfg).parameters())
    assert got.total == want
    # per layer K and V of 2 heads × 32; conv history (4 + 2) × 32 channels × ((3 − 1) +
    # (4 − 1)) columns (ZayaCCAProjection.conv_kernel_size) and the delayed value 2 × 16
    assert (got.kv_full, got.kv_window) == (2 * 128, 128)
    assert got.state == 3 * (192 * 5 + 32)


def test_inkling_text_layer_shapes_short_convs_and_state() -> None:
    """Inkling's language model: sliding layers with their own head shapes, the relative
    logits and short convs of every layer, a dense first MLP and shared experts; the four
    conv histories are state beside the K/V cache. Parameters as transformers builds them."""
    import pytest

    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    config = {
        "model_type": "inkling_text", "hidden_size": 128, "num_hidden_layers": 3,
        "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 32,
        "swa_num_attention_heads": 2, "swa_num_key_value_heads": 2, "swa_head_dim": 16,
        "sliding_window_size": 64, "d_rel": 8, "rel_extent": 96, "conv_kernel_size": 3,
        "layer_types": ["hybrid_sliding", "hybrid", "hybrid_sliding"],
        "mlp_layer_types": ["dense", "sparse", "sparse"], "intermediate_size": 256,
        "moe_intermediate_size": 48, "n_routed_experts": 4, "num_experts_per_tok": 2,
        "n_shared_experts": 1, "vocab_size": 300,
    }
    got = archlint_side.figures(config)
    cfg = transformers.InklingTextConfig(**{k: v for k, v in config.items() if k != "model_type"})
    with torch.device("meta"):
        want = sum(p.numel() for p in transformers.InklingForCausalLM(cfg).parameters())
    assert got.total == want
    # K and V: full layer 1 head x 32, sliding layers 2 heads x 16 each
    assert (got.kv_full, got.kv_window) == (2 * 32, 2 * 2 * 2 * 16)
    # conv history (kernel 3, 2 past inputs) of k, v and the two h-wide inputs per layer
    assert got.state == 2 * (2 * 32 + 2 * 128) + 2 * 2 * (2 * 32 + 2 * 128)
    # a checkpoint with dense_intermediate_size: intermediate_size is the experts' width;
    # no layer_types: every sixth layer full (here none of three)
    ckpt = {k: v for k, v in config.items() if not k.startswith(("layer_types", "swa_"))}
    ckpt.update(intermediate_size=48, dense_intermediate_size=256, n_shared_experts=2)
    ckpt.pop("moe_intermediate_size")
    cfg = transformers.InklingTextConfig(**{k: v for k, v in ckpt.items() if k != "model_type"})
    with torch.device("meta"):
        want = sum(p.numel() for p in transformers.InklingForCausalLM(cfg).parameters())
    assert archlint_side.figures(ckpt).total == want


def test_minimax_remote_code_schema_attn_type_list_and_shared_mlp() -> None:
    # MiniMax-Text-01 / M1's own configs (modeling_minimax_m1.py in the released repos):
    # attn_type_list 0 = lightning, 1 = softmax; head_dim 32 is not hidden / heads (16);
    # shared_intermediate_size as MiniMax-VL-01's one-element list
    config = {
        "model_type": "minimax_text_01", "hidden_size": 64, "num_hidden_layers": 2,
        "vocab_size": 100, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
        "intermediate_size": 48, "num_local_experts": 4, "num_experts_per_tok": 2,
        "attn_type_list": [0, 1], "rotary_dim": 16, "shared_intermediate_size": [24],
        "tie_word_embeddings": False,
    }
    got = archlint_side.figures(config)
    # lightning: qkv_proj 64 → 3 × 128, output_gate 64 → 128, norm 128, out_proj 128 → 64
    lightning = 64 * 384 + 64 * 128 + 128 + 128 * 64
    # softmax: q 64 → 128, k/v 64 → 2 × 32 each, o 128 → 64
    softmax = 64 * 128 + 2 * 64 * 64 + 128 * 64
    # per layer: router 64 × 4, experts 4 × 3 × 64 × 48, shared MLP 3 × 64 × 24 with its
    # coefficient 64 → 1, 2 RMSNorms
    moe = 64 * 4 + 4 * 3 * 64 * 48 + 3 * 64 * 24 + 64 + 2 * 64
    # embeddings and untied head 2 × 100 × 64, final norm 64
    assert got.total == 2 * 100 * 64 + lightning + softmax + 2 * moe + 64 == 162_368
    assert got.kv_full == 2 * 2 * 32  # only the softmax layer: K and V of 2 heads × 32
    assert got.state == 4 * 32 * 32  # the lightning layer's 4 heads × (32 × 32) KV state


def test_lfm2_tie_embedding_wins_over_tie_word_embeddings() -> None:
    from archlint.families import build_spec

    # transformers 5.23 configuration_lfm2.py:
    # `self.tie_word_embeddings = kwargs.pop("tie_embedding", self.tie_word_embeddings)`:
    # a config holding both keys is tied as `tie_embedding` says, whatever the other one is
    base = {"model_type": "lfm2", "vocab_size": 1000, "hidden_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128,
            "layer_types": ["conv", "full_attention"]}
    tied = build_spec({**base, "tie_embedding": True, "tie_word_embeddings": False})
    untied = build_spec({**base, "tie_embedding": False, "tie_word_embeddings": True})
    assert tied.tie_word_embeddings is True
    assert untied.tie_word_embeddings is False
    # neither key: Lfm2Config's field default, tie_word_embeddings: bool = True
    assert build_spec(base).tie_word_embeddings is True
