"""AL4xx: dtypes and quantization."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from archlint.checkpoint import TensorInfo
from archlint.dtypes import CODE_TO_NAME, NAMED_DTYPE_BYTES, TORCH_DTYPE_TO_CODE
from archlint.lint.finding import Finding, Severity
from archlint.lint.rule import Rule, RuleContext, RuleOptions, option
from archlint.problems import short
from archlint.records import record
from archlint.units import fmt_bytes

from ._base import dominant_float

_FP8 = ("F8_E4M3", "F8_E5M2", "F8_E4M3FNUZ", "F8_E5M2FNUZ")


@record
class MixedOptions(RuleOptions):
    min_wasted_bytes: int = option(1 << 20, "report only when the stray fp32 tensors waste at "
                                            "least this many bytes", ge=0)


class MixedDtypes(Rule):
    """Stray fp32 tensors in a bf16/fp16 checkpoint.

    ## What it does
    Finds the checkpoint's main float dtype (most bytes of weights) and, when it is bf16 or
    fp16, the fp32 weight tensors (not quantization scales), with the bytes they waste
    (half their size).

    ## Why is this bad?
    Loaders cast them to `torch_dtype` anyway, so the extra precision is discarded while the
    download and disk cost stays; with `torch_dtype="auto"` some loaders keep them in fp32
    and mix dtypes inside a layer, which fused kernels reject.

    ## Example
    `model.layers.N.mlp.down_proj.weight` stored `F32` while every other weight is `BF16`.

    ## References
    - transformers `from_pretrained(torch_dtype=...)`
    """

    code = "AL401"
    name = "mixed-dtypes"
    default_severity = Severity.WARNING
    needs_tensors = True
    Options = MixedOptions
    messages: ClassVar[dict[str, str]] = {
        "stray-fp32": "{count} fp32 tensor(s) in a {main} checkpoint (e.g. {example}): "
                      "{wasted} wasted",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        main = dominant_float(ctx.tensors)
        if main not in ("BF16", "F16") or ctx.tensors is None:
            return
        stray = ctx.tensors.weights_of_dtype("F32")
        wasted = sum(t.nbytes for t in stray) // 2
        if stray and wasted >= ctx.options.min_wasted_bytes:
            biggest = max(stray, key=lambda t: t.nbytes)
            yield ctx.finding("stray-fp32", ctx.at_tensor(biggest), count=len(stray),
                              main=CODE_TO_NAME[main], example=short(biggest.name),
                              wasted=fmt_bytes(wasted))


class TorchDtypeMismatch(Rule):
    """`torch_dtype` in config.json differs from the dtype the weights are stored in.

    ## What it does
    Compares the declared `torch_dtype` (`dtype`) with the main unquantized float dtype of
    the stored weights (quantized tensors and scales excluded, so an FP8 checkpoint with
    bf16 activations is fine).

    ## Why is this bad?
    `torch_dtype="auto"` loads the declared dtype: fp32 declared over bf16 weights doubles
    memory; fp16 declared over bf16 weights overflows (bf16 has fp32's range, fp16 does not)
    and produces NaNs. Memory estimates made from the config are wrong.

    ## Example
    ```json
    {"torch_dtype": "float32"}
    ```
    with every weight stored `BF16`.

    ## References
    - transformers `PretrainedConfig.torch_dtype`
    - Kalamkar et al. 2019, bfloat16: arXiv 1905.12322
    """

    code = "AL402"
    name = "torch-dtype-mismatch"
    default_severity = Severity.WARNING
    needs_tensors = True
    messages: ClassVar[dict[str, str]] = {
        "mismatch": "torch_dtype is {declared} but the weights are stored as {stored}",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        # the dtype `torch_dtype="auto"` loads: the wrapper's, `dtype` over `torch_dtype`
        raw = ctx.config_value("dtype", "torch_dtype")
        if not isinstance(raw, str):
            return
        code = TORCH_DTYPE_TO_CODE.get(raw.lower())
        stored = dominant_float(ctx.tensors)
        if code is None or stored is None or code == stored:
            return
        yield ctx.finding("mismatch", ctx.at_config("dtype", "torch_dtype"), declared=raw,
                          stored=CODE_TO_NAME.get(stored, stored))


class QuantizationMismatch(Rule):
    """The quantization config disagrees with the stored tensors.

    ## What it does
    - `fp8`: FP8 weights must be stored, each with its `weight_scale_inv` (or
      `weight_scale`);
    - `mxfp4`: `*_blocks` tensors must be stored, each with its `*_scales`;
    - `gptq`/`awq`: `qweight` packing must match `bits` (a GPTQ `qweight` of a projection
      reading the hidden state has `hidden_size × bits / 32` rows);
    - quantized tensors (FP8, `_blocks`, `qweight`) without any `quantization_config`.

    ## Why is this bad?
    The loader dequantizes with the wrong scheme or none: garbage outputs, or a crash deep
    inside a kernel. Memory estimates from the config are wrong by the packing factor.

    ## Example
    ```json
    {"quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]}}
    ```
    with `F8_E4M3` weights and no `weight_scale_inv` tensors.

    ## References
    - transformers quantization docs (FineGrainedFP8, Mxfp4, GPTQ, AWQ)
    - OCP Microscaling (MX) spec v1.0
    """

    code = "AL403"
    name = "quantization-mismatch"
    default_severity = Severity.ERROR
    needs_tensors = True
    messages: ClassVar[dict[str, str]] = {
        "fp8-no-weights": "quantization_config declares fp8 but no FP8 weights are stored",
        "fp8-scales-missing": "{count} FP8 weight(s) have no weight_scale_inv/weight_scale "
                              "(e.g. {example})",
        "mxfp4-no-blocks": "quantization_config declares mxfp4 but no *_blocks tensors are "
                           "stored",
        "mxfp4-scales-missing": "{count} *_blocks tensor(s) have no *_scales (e.g. {example})",
        "gptq-packing": "{tensor} has {rows} rows: {bits}-bit packing of hidden_size {hidden} "
                        "needs {expected}",
        "undeclared": "{count} quantized tensor(s) ({kind}, e.g. {example}) but config.json has "
                      "no quantization_config",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        index = ctx.tensors  # kept current for the checkpoint's table; None when it has none
        names = index.by_name if index is not None else {}
        quant = ctx.spec.quantization
        where = ctx.at_config("quantization_config.quant_method", "quantization_config",
                              "compression_config")
        # FP8 weights as row numbers: Kimi-K2 has ~70k, whose rows need not be made
        fp8 = index.ids_ending_with(".weight", _FP8) if index is not None else []
        fp8_names = [index.table.names[i] for i in fp8] if index is not None else []
        blocks = index.ending_with("_blocks") if index is not None else []
        packed = index.ending_with(".qweight") if index is not None else []
        if quant is None:
            for kind, found in (("fp8", fp8_names), ("mxfp4", [t.name for t in blocks]),
                                ("gptq/awq", [t.name for t in packed])):
                if found:
                    yield ctx.finding("undeclared", ctx.at_config(), count=len(found),
                                      kind=kind, example=short(found[0]))
            return
        method = quant.method.lower()
        if method == "fp8":
            if not fp8 or index is None:
                yield ctx.finding("fp8-no-weights", where)
                return
            known = index.name_ids
            missing = [i for i, name in zip(fp8, fp8_names, strict=True)
                       if name + "_scale_inv" not in known and name + "_scale" not in known]
            if missing:
                first = index.table[missing[0]]
                yield ctx.finding("fp8-scales-missing", ctx.at_tensor(first),
                                  count=len(missing), example=short(first.name))
        elif method == "mxfp4":
            if not blocks:
                yield ctx.finding("mxfp4-no-blocks", where)
                return
            missing = [t for t in blocks if t.name[:-len("_blocks")] + "_scales" not in names]
            if missing:
                yield ctx.finding("mxfp4-scales-missing", ctx.at_tensor(missing[0]),
                                  count=len(missing), example=short(missing[0].name))
        elif method == "gptq" and quant.bits:
            yield from self._gptq(ctx, packed, int(quant.bits))

    @staticmethod
    def _gptq(ctx: RuleContext, packed: list[TensorInfo], bits: int) -> Iterator[Finding]:
        hidden = ctx.spec.hidden_size
        expected = hidden * bits // 32
        reads_hidden = re.compile(r"\.(q_proj|k_proj|v_proj|gate_proj|up_proj)\.qweight$")
        for tensor in packed:
            if reads_hidden.search(tensor.name) and len(tensor.shape) == 2 \
                    and tensor.shape[0] != expected:
                yield ctx.finding("gptq-packing", ctx.at_tensor(tensor), tensor=short(tensor.name),
                                  rows=tensor.shape[0], bits=bits, hidden=hidden,
                                  expected=expected)
                return


class KvCacheDtypeConvention(Rule):
    """The KV-cache dtype a runtime picks differs from the weights' quantization.

    ## What it does
    Notes (info) FP8-quantized models whose KV cache stays in the activation dtype under
    vLLM's default `kv_cache_dtype="auto"`, with the per-token cache in both dtypes; and
    checkpoints that carry a `kv_cache_scheme`, which runtimes apply only when asked.

    ## Why is this bad?
    Capacity planning from "it's an FP8 model" halves the KV cache that will actually be
    allocated; runtimes differ (vLLM `auto` = model dtype; TensorRT-LLM and SGLang have their
    own flags), so the same checkpoint fits different batches on different servers.

    ## Example
    ```json
    {"torch_dtype": "bfloat16",
     "quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]}}
    ```

    ## References
    - vLLM docs, Quantized KV Cache (`--kv-cache-dtype`)
    - llm-compressor `kv_cache_scheme`
    """

    code = "AL404"
    name = "kv-cache-dtype-convention"
    default_severity = Severity.INFO
    messages: ClassVar[dict[str, str]] = {
        "fp8-weights": "weights are FP8 but vLLM's default kv_cache_dtype=auto keeps the cache "
                       "in {act} ({now}/token); --kv-cache-dtype fp8 would halve it to {fp8}",
        "kv-scheme": "quantization_config declares a kv_cache_scheme; vLLM applies it only "
                     "with --kv-cache-dtype fp8 (default auto keeps {act})",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        quant = ctx.spec.quantization
        if quant is None or ctx.spec.architecture == "encoder":
            return
        act = ctx.profile.activation_dtype
        if isinstance(quant.raw.get("kv_cache_scheme"), dict):
            yield ctx.finding("kv-scheme", ctx.at_config("quantization_config.kv_cache_scheme"),
                              act=act)
            return
        if quant.method.lower() == "fp8" or (quant.bits == 8 and "fp8" in str(quant.raw)):
            kv = ctx.profile.kv
            per = kv.bytes_per_token + kv.bytes_per_token_local
            if not per:
                return
            ratio = NAMED_DTYPE_BYTES["fp8"] / kv.dtype_bytes
            yield ctx.finding("fp8-weights", ctx.at_config("quantization_config"), act=act,
                              now=fmt_bytes(per), fp8=fmt_bytes(per * ratio))


RULES: list[type[Rule]] = [MixedDtypes, TorchDtypeMismatch, QuantizationMismatch,
                           KvCacheDtypeConvention]
