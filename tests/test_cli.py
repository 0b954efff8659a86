"""The CLI as a user runs it: every input form, the formats, and the error paths."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from archlint.checkpoint import TensorInfo
from archlint.cli import main
from archlint.source.safetensors_header import encode_header
from tests.helpers import ROOT, TINY_LLAMA, fixture, fresh_python


def run(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["archlint", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def write_safetensors(path: Path, tensors: dict[str, tuple[str, list[int]]]) -> None:
    """A real safetensors file with zero-filled data."""
    head, placed = encode_header([TensorInfo(n, d, tuple(s)) for n, (d, s) in tensors.items()])
    path.write_bytes(head + bytes(placed[-1].end or 0))


TINY_CONFIG = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 64,
    "torch_dtype": "bfloat16",
    "tie_word_embeddings": False,
    "max_position_embeddings": 128,
}


def tiny_llama_tensors(
    hidden: int = 16, kv_dim: int = 8, ffn: int = 32, vocab: int = 64, layers: int = 2
) -> dict[str, tuple[str, list[int]]]:
    t: dict[str, tuple[str, list[int]]] = {
        "model.embed_tokens.weight": ("BF16", [vocab, hidden]),
        "model.norm.weight": ("BF16", [hidden]),
        "lm_head.weight": ("BF16", [vocab, hidden]),
    }
    for i in range(layers):
        p = f"model.layers.{i}."
        t |= {
            p + "input_layernorm.weight": ("BF16", [hidden]),
            p + "post_attention_layernorm.weight": ("BF16", [hidden]),
            p + "self_attn.q_proj.weight": ("BF16", [hidden, hidden]),
            p + "self_attn.k_proj.weight": ("BF16", [kv_dim, hidden]),
            p + "self_attn.v_proj.weight": ("BF16", [kv_dim, hidden]),
            p + "self_attn.o_proj.weight": ("BF16", [hidden, hidden]),
            p + "mlp.gate_proj.weight": ("BF16", [ffn, hidden]),
            p + "mlp.up_proj.weight": ("BF16", [ffn, hidden]),
            p + "mlp.down_proj.weight": ("BF16", [hidden, ffn]),
        }
    return t


@pytest.fixture
def tiny_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "tiny-llama"
    repo.mkdir()
    (repo / "config.json").write_text(json.dumps(TINY_CONFIG, indent=2))
    write_safetensors(repo / "model.safetensors", tiny_llama_tensors())
    return repo


# Hand count for the tiny Llama: embed 64×16 + head 64×16 + final norm 16
# + 2 layers × (2 norms × 16 + q 256 + k 128 + v 128 + o 256 + 3 × 32 × 16)
TINY_PARAMS = 64 * 16 * 2 + 16 + 2 * (2 * 16 + 256 + 128 + 128 + 256 + 3 * 32 * 16)


def test_local_directory_json(tiny_repo: Path, capsys, monkeypatch) -> None:
    code, out, err = run([str(tiny_repo), "--format", "json", "--no-lint"], capsys, monkeypatch)
    assert code == 0, err
    report = json.loads(out)
    assert report["model"]["source"] == "local"
    assert report["model"]["tensors_known"] is True
    assert report["params"]["total"] == TINY_PARAMS
    assert report["params"]["method"] == "tensors"
    assert report["memory"]["weights_bytes"] == TINY_PARAMS * 2
    assert report["attention"]["kind"] == "gqa"
    # 2 layers × 2 KV heads × (4 + 4) × 2 B
    assert report["kv_cache"]["bytes_per_token"] == 2 * 2 * 8 * 2
    assert report["params_from_config"]["total"] == TINY_PARAMS


def test_single_config_file(tiny_repo: Path, capsys, monkeypatch) -> None:
    code, out, _ = run(
        [str(tiny_repo / "config.json"), "-f", "json", "--no-lint"], capsys, monkeypatch
    )
    report = json.loads(out)
    assert code == 0 and report["model"]["tensors_known"] is False
    assert any("config only" in n for n in report["model"]["notes"])


def test_single_safetensors_file(tiny_repo: Path, capsys, monkeypatch) -> None:
    code, out, _ = run(
        [str(tiny_repo / "model.safetensors"), "-f", "json", "--no-lint"], capsys, monkeypatch
    )
    assert code == 0
    assert json.loads(out)["params"]["total"] == TINY_PARAMS


def test_checkpoint_file(tmp_path: Path, capsys, monkeypatch) -> None:
    path = tmp_path / "gpt-oss.archlint.json.gz"
    fixture("openai/gpt-oss-20b").dump(path)
    code, out, _ = run([str(path), "-f", "json", "--no-lint"], capsys, monkeypatch)
    assert code == 0
    assert json.loads(out)["params"]["total"] == 20_914_757_184


def test_catalog_name_text_report(capsys, monkeypatch) -> None:
    code, out, _ = run(["mixtral", "--no-lint"], capsys, monkeypatch)
    assert code == 0
    assert "46.7B" in out and "12.9B" in out
    assert "bundled snapshot" in out


def test_offline_hub_id_answers_from_catalog(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ARCHLINT_CACHE", str(tmp_path))
    code, out, _ = run(
        ["mistralai/Mixtral-8x7B-v0.1", "--offline", "-f", "json", "--no-lint"], capsys, monkeypatch
    )
    report = json.loads(out)
    assert code == 0 and report["model"]["source"] == "catalog"
    assert any("bundled snapshot" in n for n in report["model"]["notes"])


@pytest.mark.parametrize(
    "args, needle",
    [
        (["./does-not-exist"], "does not exist"),
        (["not a model"], "neither a local path"),
        (["mixtral", "--gpu", "TPU9000"], "unknown GPU"),
        (["mixtral", "--kv-dtype", "fp7"], "unknown --kv-dtype"),
        (["mixtral", "--context", "0"], "Invalid value"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    args: list[str], needle: str, capsys, monkeypatch
) -> None:
    code, _, err = run(args, capsys, monkeypatch)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err


def test_broken_config_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "llama", ')
    code, _, err = run([str(tmp_path)], capsys, monkeypatch)
    assert code == 2
    assert err.strip().count("\n") == 0 and "not valid JSON" in err


def test_deeply_nested_config_refused(tmp_path: Path, capsys, monkeypatch) -> None:
    (tmp_path / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = run([str(tmp_path)], capsys, monkeypatch)
    assert code == 2 and "nests deeper" in err


def test_pickle_file_is_refused(tmp_path: Path, capsys, monkeypatch) -> None:
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04not unpickled")
    code, _, err = run([str(tmp_path / "pytorch_model.bin")], capsys, monkeypatch)
    assert code == 2 and "never unpickles" in err


def test_remote_code_is_never_run(tmp_path: Path, capsys, monkeypatch) -> None:
    marker = tmp_path / "executed"
    (tmp_path / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    config = dict(TINY_CONFIG, model_type="evil", auto_map={"AutoModel": "modeling_evil.Evil"})
    (tmp_path / "config.json").write_text(json.dumps(config))
    code, out, _ = run([str(tmp_path), "-f", "json", "--no-lint"], capsys, monkeypatch)
    assert code == 0
    assert not marker.exists()
    report = json.loads(out)
    assert report["model"]["known_family"] is False  # best effort from standard keys


def test_schema_lists_required_fields(capsys, monkeypatch) -> None:
    code, out, _ = run(["schema"], capsys, monkeypatch)
    schema = json.loads(out)
    assert code == 0
    for key in (
        "model",
        "attention",
        "ffn",
        "params",
        "memory",
        "kv_cache",
        "flops",
        "roofline",
        "findings",
        "layers",
    ):
        assert key in schema["properties"]


def test_json_report_fields_for_every_fixture(capsys, monkeypatch) -> None:
    for path in sorted((ROOT / "fixtures" / "models").glob("*.json.gz")):
        code, out, err = run(
            [fixture_path_as_checkpoint(path), "-f", "json", "--no-lint"], capsys, monkeypatch
        )
        assert code == 0, (path.name, err)
        report = json.loads(out)
        assert report["attention"]["kind"] in ("mha", "mqa", "gqa", "mla", "linear", "none")
        assert report["params"]["total"] > 0


def fixture_path_as_checkpoint(path: Path) -> str:
    """Fixtures are Checkpoint files; give them the suffix the local reader recognises."""
    target = ROOT / ".pytest_cache" / "ckpt" / path.name.replace(".json.gz", ".archlint.json.gz")
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.write_bytes(path.read_bytes())
    return str(target)


def test_help_is_useful(capsys, monkeypatch) -> None:
    code, out, _ = run(["--help"], capsys, monkeypatch)
    assert code == 0 and "Exit codes" in out and "compare" in out


def test_safetensors_without_config_is_inferred(tmp_path: Path, capsys, monkeypatch) -> None:
    # head_dim 64 would not divide a 16-wide projection: the inference falls back and says so.
    write_safetensors(
        tmp_path / "model.safetensors", tiny_llama_tensors(hidden=256, kv_dim=128, ffn=512)
    )
    code, out, err = run([str(tmp_path), "-f", "json", "--no-lint"], capsys, monkeypatch)
    assert code == 0, err
    report = json.loads(out)
    assert report["model"]["tensors_known"] is True
    assert report["params"]["total"] == 64 * 256 * 2 + 256 + 2 * (
        2 * 256 + 256 * 256 * 2 + 128 * 256 * 2 + 3 * 512 * 256
    )
    assert any("inferred from tensor shapes" in n for n in report["model"]["notes"])
    assert report["provenance"]["hidden_size"]["kind"] == "inferred"


def test_lazy_subcommands_list_the_help_of_the_real_command() -> None:
    """`archlint --help` lists compare/scan/bench without importing them: the help kept in
    LAZY_COMMANDS must read as the real command's (at any terminal width)."""
    import importlib

    from archlint.cli import LAZY_COMMANDS, _listed

    for name, (module, attr, _) in LAZY_COMMANDS.items():
        real = getattr(importlib.import_module(module), attr)
        for limit in (30, 45, 60, 78):
            assert _listed(name).get_short_help_str(limit) == real.get_short_help_str(limit)
    code = ("import sys, archlint.cli as c; sys.argv = ['archlint', '--help']\n"
            "try: c.main()\nexcept SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'archlint.'))))")
    out = fresh_python(code)
    assert "pydantic" not in out and "archlint.compare_cli" not in out


def test_hub_source_imports_no_third_party_http_stack() -> None:
    """The Hub path speaks HTTP through the standard library (archlint/source/transport.py):
    importing it, and building an anonymous request's headers, loads none of httpx2, httpx,
    httpcore2 or requests (~0.1 s of start-up through huggingface_hub.utils)."""
    code = ("import sys, archlint.source.hub, archlint.source.hub_auth as a\n"
            "a.hub_headers(False)\n"
            "stacks = ('httpx2', 'httpx', 'httpcore2', 'requests', 'huggingface_hub.utils')\n"
            "print([m for m in stacks if m in sys.modules])")
    assert fresh_python(code) == "[]"


def test_default_context_is_capped_at_the_models_maximum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --context a model whose max_position_embeddings is 2,048 is profiled at 2,048
    tokens (vLLM's max_model_len defaults to the model's maximum) and no warning names a flag
    the user did not pass; an explicit --context past it is kept and warned about."""
    config = {**TINY_LLAMA, "max_position_embeddings": 2048, "torch_dtype": "bfloat16"}
    (tmp_path / "config.json").write_text(json.dumps(config))
    code, out, err = run([str(tmp_path), "--format", "json"], capsys, monkeypatch)
    report = json.loads(out)
    # K and V x 2 KV heads x head_dim 16 x 2 layers x 2 B = 256 B per token, x 2,048 tokens
    assert report["kv_cache"]["context"] == 2048
    assert report["kv_cache"]["bytes_at_context"] == 256 * 2048
    assert code == 0 and "exceeds" not in out + err
    code, out, err = run([str(tmp_path), "--format", "json", "--context", "8192"], capsys,
                         monkeypatch)
    assert json.loads(out)["kv_cache"]["context"] == 8192
    assert "exceeds the model's maximum of 2,048" in out + err
