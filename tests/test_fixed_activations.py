"""Activations a family's modeling code fixes where its config names none, checked against
transformers' own classes (the report printed "None" for these before)."""

from __future__ import annotations

import json

import pytest

from archlint.analysis.profile import Options
from archlint.api import analyze_checkpoint
from archlint.checkpoint import Checkpoint
from tests.helpers import analysis

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")


def _activation(model: str) -> str | None:
    return analysis(model).spec.layers[0].ffn.activation


@pytest.mark.parametrize("proj", ["relu", "gated-gelu", "gated-silu"])
def test_t5_activation_is_t5configs_dense_act_fn(proj: str) -> None:
    base = analysis("google-t5/t5-base").checkpoint.config
    cfg = {**base, "feed_forward_proj": proj}
    text = json.dumps(cfg)
    ckpt = Checkpoint(model_id="test/t5", source="catalog", config=cfg, config_text=text,
                      files={"config.json": len(text)}, weights_format="none")
    ffn = analyze_checkpoint(ckpt, Options(batch=1)).spec.layers[0].ffn
    expected = transformers.T5Config(feed_forward_proj=proj)
    assert ffn.activation == expected.dense_act_fn
    assert ffn.gated == expected.is_gated_act


def test_falcon_activation_is_falconconfigs_default() -> None:
    assert _activation("tiiuae/falcon-7b") == transformers.FalconConfig().activation


def test_bloom_and_mpt_activations_are_their_mlps() -> None:
    from transformers.models.bloom.modeling_bloom import BloomGelu, BloomMLP
    from transformers.models.mpt.modeling_mpt import MptMLP

    with torch.device("meta"):
        bloom = BloomMLP(transformers.BloomConfig(hidden_size=8, n_head=2))
        mpt = MptMLP(transformers.MptConfig(d_model=8, n_heads=2))
    # BloomGelu is the tanh approximation (gelu_pytorch_tanh in ACT2FN's names)
    assert isinstance(bloom.gelu_impl, BloomGelu)
    assert _activation("bigscience/bloom") == "gelu_pytorch_tanh"
    assert isinstance(mpt.act, torch.nn.GELU) and mpt.act.approximate == "none"
    assert _activation("mosaicml/mpt-30b-chat") == "gelu"
