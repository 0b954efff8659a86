"""Classic and attention-variant decoders (issue 10) against hand counts from transformers'
modeling files (transformers 5.23): each expected figure is written out from the modules the
file builds, for a config of other sizes than the type's default, so the reading holds beyond
the one config the conformance harness compares."""

from __future__ import annotations

from archlint.analysis.params import count_from_spec
from archlint.families import build_spec


def _count(config: dict) -> int:
    return count_from_spec(build_spec(config)).total


def _block(d: int, ffn: int, norms: int = 2) -> int:
    """q, k, v, out (biased d × d), fc1/fc2 (biased), `norms` biased LayerNorms."""
    return 4 * (d * d + d) + (d * ffn + ffn) + (ffn * d + d) + norms * 2 * d


def test_opt_position_table_keeps_two_extra_rows() -> None:
    """modeling_opt: OPTLearnedPositionalEmbedding(max_position_embeddings + 2, hidden); tied
    head; a final LayerNorm (do_layer_norm_before)."""
    d, ffn, layers, vocab, positions = 512, 1536, 3, 1000, 300
    config = {
        "model_type": "opt", "hidden_size": d, "ffn_dim": ffn, "num_hidden_layers": layers,
        "num_attention_heads": 8, "vocab_size": vocab, "max_position_embeddings": positions,
        "word_embed_proj_dim": d,
    }
    want = vocab * d + (positions + 2) * d + layers * _block(d, ffn) + 2 * d
    assert _count(config) == want


def test_biogpt_position_table_keeps_two_extra_rows() -> None:
    """modeling_biogpt: BioGptLearnedPositionalEmbedding(max_position_embeddings + 2, hidden),
    final layer_norm, tied output projection."""
    d, ffn, layers, vocab, positions = 256, 1024, 2, 500, 128
    config = {
        "model_type": "biogpt", "hidden_size": d, "intermediate_size": ffn,
        "num_hidden_layers": layers, "num_attention_heads": 4, "vocab_size": vocab,
        "max_position_embeddings": positions,
    }
    want = vocab * d + (positions + 2) * d + layers * _block(d, ffn) + 2 * d
    assert _count(config) == want


def test_ctrl_ffn_width_is_dff() -> None:
    """modeling_ctrl: the FFN is Linear(n_embd, dff) → ReLU → Linear(dff, n_embd); positions
    are a sinusoidal buffer (no parameters); lm_head is tied with a bias of vocab_size."""
    d, dff, layers, vocab = 320, 1000, 2, 700
    config = {
        "model_type": "ctrl", "n_embd": d, "dff": dff, "n_layer": layers, "n_head": 4,
        "vocab_size": vocab, "n_positions": 64,
    }
    want = vocab * d + layers * _block(d, dff) + 2 * d + vocab
    assert _count(config) == want
