"""AL0xx: file integrity. The safetensors header and index readers record defects as
`Problem`s with stable codes (archlint.problems.PROBLEM_NAMES); each code is
a rule here, so it can be selected, ignored, re-severitied and documented like any other.
AL019 is the config.json that `archlint check` could not read or accept at all
(archlint.problems.CONFIG_PROBLEM_NAMES)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from archlint.lint.finding import Finding, Location, Severity
from archlint.lint.json_lines import position_of
from archlint.lint.rule import Rule, RuleContext
from archlint.problems import CONFIG_PROBLEM_NAMES, PROBLEM_NAMES, json_error_position

_FORMAT = "https://github.com/huggingface/safetensors#format"
_INDEX = ("transformers `PreTrainedModel.save_pretrained` (sharded checkpoints and "
          "`model.safetensors.index.json`)")


class ProblemRule(Rule):
    """Base: report the checkpoint's problems that carry this rule's code."""

    default_severity: ClassVar[Severity] = Severity.ERROR
    messages: ClassVar[dict[str, str]] = {"problem": "{detail}"}

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for problem in ctx.checkpoint.problems:
            if problem.code == self.code:
                yield ctx.finding("problem", ctx.at_file(problem.file, problem.pointer),
                                  detail=problem.message)


class HeaderLengthInvalid(ProblemRule):
    """The 8-byte header length of a safetensors file is impossible.

    ## What it does
    Checks the little-endian u64 prefix `N` of each shard: it must leave room for a header
    of at least 2 bytes inside the file and stay under the 100 MB limit of the reference
    implementation.

    ## Why is this bad?
    No loader can read the file: a truncated download, a Git LFS pointer committed instead
    of the weights, or a hostile file that asks the reader to allocate gigabytes.

    ## Example
    A Git LFS pointer saved as `model.safetensors`:
    ```text
    version https://git-lfs.github.com/spec/v1
    oid sha256:4d7a...
    ```

    ## References
    - safetensors format: https://github.com/huggingface/safetensors#format
    """

    code = "AL001"
    name = PROBLEM_NAMES["AL001"]


class HeaderNotUtf8(ProblemRule):
    """A safetensors header is not valid UTF-8.

    ## What it does
    Decodes the JSON header strictly as UTF-8.

    ## Why is this bad?
    The format requires a UTF-8 JSON header; readers that decode leniently see different
    tensor names than strict ones.

    ## Example
    A header containing the byte `0xff` inside a tensor name.

    ## References
    - safetensors format: https://github.com/huggingface/safetensors#format
    """

    code = "AL002"
    name = PROBLEM_NAMES["AL002"]


class HeaderNotJsonObject(ProblemRule):
    """A safetensors header is not one JSON object.

    ## What it does
    Parses the header as a single JSON object (`{...}`), bounded in depth.

    ## Why is this bad?
    Nothing in the file can be located; loaders fail or, worse, disagree.

    ## Example
    ```json
    [1, 2, 3]
    ```

    ## References
    - safetensors format: https://github.com/huggingface/safetensors#format
    """

    code = "AL003"
    name = PROBLEM_NAMES["AL003"]


class HeaderBadPadding(ProblemRule):
    """A safetensors header is padded with something other than spaces.

    ## What it does
    Checks the bytes between the end of the JSON object and the end of the header.

    ## Why is this bad?
    The format allows trailing spaces (0x20) only; NUL or other padding is rejected by
    strict readers and can smuggle data.

    ## Example
    `{"w": {...}}\\0\\0\\0\\0` as the header.

    ## References
    - safetensors format: https://github.com/huggingface/safetensors#format
    """

    code = "AL004"
    name = PROBLEM_NAMES["AL004"]


class HeaderDuplicateKey(ProblemRule):
    """A safetensors header names the same tensor twice.

    ## What it does
    Detects duplicate keys in the header JSON object.

    ## Why is this bad?
    JSON parsers differ on which duplicate wins, so two loaders can read different weights
    from the same file.

    ## Example
    ```json
    {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
     "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}
    ```

    ## References
    - safetensors format: https://github.com/huggingface/safetensors#format
    """

    code = "AL005"
    name = PROBLEM_NAMES["AL005"]


class HeaderInvalidNumber(ProblemRule):
    """A shape, offset or size is not a valid unsigned 64-bit integer.

    ## What it does
    Checks every shape dimension, data offset and `total_size` is an integer in u64 range
    (not a boolean, a float, NaN or a 300-digit literal).

    ## Why is this bad?
    Readers coerce such values differently (`true` as 1, `1e3` as 1000) or overflow.

    ## Example
    ```json
    {"w": {"dtype": "F32", "shape": [true], "data_offsets": [0, NaN]}}
    ```

    ## References
    - safetensors format: https://github.com/huggingface/safetensors#format
    """

    code = "AL006"
    name = PROBLEM_NAMES["AL006"]


class UnknownDtype(ProblemRule):
    """A tensor uses a dtype the safetensors format does not define.

    ## What it does
    Checks each tensor's `dtype` against the format's dtype list (F32, BF16, F8_E4M3, ...).

    ## Why is this bad?
    Loaders cannot size or interpret the tensor; its bytes cannot be verified.

    ## Example
    ```json
    {"w": {"dtype": "F12", "shape": [4], "data_offsets": [0, 6]}}
    ```

    ## References
    - safetensors `Dtype` enum: https://github.com/huggingface/safetensors#format
    """

    code = "AL007"
    name = PROBLEM_NAMES["AL007"]


class TensorSizeMismatch(ProblemRule):
    """A tensor's byte span does not match its shape × dtype.

    ## What it does
    Compares `end - begin` of `data_offsets` with elements × dtype width.

    ## Why is this bad?
    The tensor cannot be loaded, or reads its neighbour's bytes.

    ## Example
    ```json
    {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 12]}}
    ```

    ## References
    - safetensors format: https://github.com/huggingface/safetensors#format
    """

    code = "AL008"
    name = PROBLEM_NAMES["AL008"]


class TensorOffsetsGapOrOverlap(ProblemRule):
    """Tensors' byte spans overlap or leave holes between them.

    ## What it does
    Sorts tensors by offset and checks each starts where the previous one ends.

    ## Why is this bad?
    Overlapping tensors alias each other's bytes; holes hide data a loader never reads
    (a polyglot file). The format forbids both.

    ## Example
    `a: [0, 8]` and `b: [4, 12]` in one header.

    ## References
    - safetensors format ("cannot contain holes"): https://github.com/huggingface/safetensors#format
    """

    code = "AL009"
    name = PROBLEM_NAMES["AL009"]


class BufferNotFullyCovered(ProblemRule):
    """The data buffer is not exactly covered by the tensors (truncated or trailing bytes).

    ## What it does
    Checks the last tensor ends exactly at the end of the file.

    ## Why is this bad?
    A short file is a truncated upload; trailing bytes are data no loader reads, which the
    format forbids to prevent polyglot files.

    ## Example
    A shard whose header promises 4096 bytes of tensors in a 2048-byte buffer.

    ## References
    - safetensors format: https://github.com/huggingface/safetensors#format
    """

    code = "AL010"
    name = PROBLEM_NAMES["AL010"]


class IndexTensorMissingFromShard(ProblemRule):
    """The index maps a tensor to a shard that does not hold it.

    ## What it does
    Checks each `weight_map` entry against the named shard's header.

    ## Why is this bad?
    `from_pretrained` opens the wrong file and fails, or the tensor is silently missing and
    randomly initialised.

    ## Example
    ```json
    {"weight_map": {"lm_head.weight": "model-00001-of-00002.safetensors"}}
    ```
    while `lm_head.weight` lives in shard 2.

    ## References
    - transformers sharded checkpoints (`save_pretrained`, `max_shard_size`)
    """

    code = "AL011"
    name = PROBLEM_NAMES["AL011"]


class TensorInMultipleShards(ProblemRule):
    """The same tensor is stored in more than one shard.

    ## What it does
    Collects tensor names across all shard headers (and duplicate index entries).

    ## Why is this bad?
    Which copy loads depends on the loader; the bytes of the other copy are wasted.

    ## Example
    `model.norm.weight` in both `model-00001-of-00002.safetensors` and `...00002...`.

    ## References
    - transformers sharded checkpoints (`save_pretrained`)
    """

    code = "AL012"
    name = PROBLEM_NAMES["AL012"]


class ShardFileMissing(ProblemRule):
    """The index lists a shard file the repository does not have.

    ## What it does
    Checks every shard named in `weight_map` exists in the repo.

    ## Why is this bad?
    Loading fails with a 404 or a missing-file error after the other shards downloaded.

    ## Example
    ```json
    {"weight_map": {"model.layers.1.mlp.up_proj.weight": "model-00003-of-00003.safetensors"}}
    ```
    with no such file.

    ## References
    - transformers sharded checkpoints (`save_pretrained`)
    """

    code = "AL013"
    name = PROBLEM_NAMES["AL013"]


class IndexTotalSizeMismatch(ProblemRule):
    """The index's `metadata.total_size` differs from the bytes the shards hold.

    ## What it does
    Sums the tensors' byte spans across all shards and compares with `total_size`.

    ## Why is this bad?
    Tools size downloads and memory from `total_size`; a wrong value usually means the index
    was written for another version of the weights.

    ## Example
    ```json
    {"metadata": {"total_size": 16060522496}, "weight_map": {...}}
    ```
    while the shards hold 16,060,522,504 bytes.

    ## References
    - transformers `save_pretrained` index format
    """

    code = "AL014"
    name = PROBLEM_NAMES["AL014"]
    default_severity = Severity.WARNING


class ShardPathEscapesRepo(ProblemRule):
    """A shard path in the index could escape the repository.

    ## What it does
    Refuses absolute paths, `..`, backslashes, drive letters and control characters in
    shard names.

    ## Why is this bad?
    A loader that joins the name to a directory or URL could read or overwrite files
    outside the repo.

    ## Example
    ```json
    {"weight_map": {"w": "../../.ssh/id_rsa"}}
    ```

    ## References
    - OWASP path traversal: https://owasp.org/www-community/attacks/Path_Traversal
    """

    code = "AL015"
    name = PROBLEM_NAMES["AL015"]


class IndexInvalid(ProblemRule):
    """The shard index is malformed.

    ## What it does
    Checks the index is a JSON object with a non-empty `weight_map` of tensor → file name,
    without duplicate keys.

    ## Why is this bad?
    Loaders cannot find the tensors, or find different ones.

    ## Example
    ```json
    {"weight_map": {"w": 3}}
    ```

    ## References
    - transformers `save_pretrained` index format
    """

    code = "AL016"
    name = PROBLEM_NAMES["AL016"]


class TensorNotInIndex(ProblemRule):
    """A shard holds a tensor the index does not list.

    ## What it does
    Checks every tensor in every shard header appears in `weight_map`.

    ## Why is this bad?
    Index-driven loaders never load it: either dead bytes, or a weight the model expects
    and initialises randomly instead.

    ## Example
    `model.layers.0.self_attn.rotary_emb.inv_freq` in a shard but not in the index.

    ## References
    - transformers `save_pretrained` index format
    """

    code = "AL017"
    name = PROBLEM_NAMES["AL017"]
    default_severity = Severity.WARNING


class HeaderMetadataInvalid(ProblemRule):
    """The `__metadata__` of a safetensors header is not a string → string map.

    ## What it does
    Checks `__metadata__` is an object whose values are all strings.

    ## Why is this bad?
    The format says "Arbitrary JSON is not allowed"; the reference loader rejects the file.

    ## Example
    ```json
    {"__metadata__": {"format": "pt", "step": 1000}}
    ```

    ## References
    - safetensors format: https://github.com/huggingface/safetensors#format
    """

    code = "AL018"
    name = PROBLEM_NAMES["AL018"]
    default_severity = Severity.WARNING


class ConfigInvalid(ProblemRule):
    """config.json cannot be read as a model configuration.

    ## What it does
    Reports the one reason `archlint check` refused a local repo's config.json: it is not
    UTF-8, not JSON, not a JSON object, over the size or nesting caps, or a value no model can
    have (a negative or absurd count, a 300 KB `model_type`, `text_config: null`, more KV
    heads than query heads). The finding points at the refused key's line (or, for a syntax
    error, where json stopped); nothing else is checked, since there is no architecture to
    check it against.

    ## Why is this bad?
    transformers' `AutoConfig.from_pretrained` either fails on the file or builds a model
    that cannot exist: every consumer of the repo (training, serving, the Hub's widgets) breaks
    on it. In CI this is a finding of the checked repo, with its report written, not a failure
    of the check.

    ## Example
    ```json
    {"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": -1}
    ```
    `config.json: num_hidden_layers must be a positive integer (got -1)`, at line 1 column 46.

    ## References
    - transformers `PretrainedConfig` (the types of its common keys):
      https://huggingface.co/docs/transformers/main_classes/configuration
    - JSON (RFC 8259): https://www.rfc-editor.org/rfc/rfc8259
    """

    code = "AL019"
    name = CONFIG_PROBLEM_NAMES["AL019"]

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        for problem in ctx.checkpoint.problems:
            if problem.code != self.code:
                continue
            # the refused text is the checkpoint's config text, whatever the file is called
            line, column = position_of(ctx.checkpoint.config_text, problem.pointer)
            if line is None and (at := json_error_position(problem.message)) is not None:
                line, column = at
            yield ctx.finding("problem", Location(file=problem.file, pointer=problem.pointer,
                                                  line=line, column=column),
                              detail=problem.message)


RULES: list[type[Rule]] = [
    HeaderLengthInvalid, HeaderNotUtf8, HeaderNotJsonObject, HeaderBadPadding,
    HeaderDuplicateKey, HeaderInvalidNumber, UnknownDtype, TensorSizeMismatch,
    TensorOffsetsGapOrOverlap, BufferNotFullyCovered, IndexTensorMissingFromShard,
    TensorInMultipleShards, ShardFileMissing, IndexTotalSizeMismatch, ShardPathEscapesRepo,
    IndexInvalid, TensorNotInIndex, HeaderMetadataInvalid, ConfigInvalid,
]
assert {r.code for r in RULES} == set(PROBLEM_NAMES) | set(CONFIG_PROBLEM_NAMES), \
    "one rule per problem code"
