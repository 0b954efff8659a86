"""GGUF files: the integrity problems the strict GGUF header reader records
(archlint.problems.GGUF_PROBLEM_NAMES), each a rule like the safetensors ones."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar

from archlint.ggml_types import FILE_TYPE_BASE, UNQUANTIZED
from archlint.lint.finding import Finding, Location, Severity
from archlint.lint.rule import Rule, RuleContext
from archlint.problems import GGUF_PROBLEM_NAMES as PROBLEM_NAMES
from archlint.problems import json_pointer

from .integrity import ProblemRule


class GgufHeaderInvalid(ProblemRule):
    """A GGUF header cannot be read, or a split set does not add up.

    ## What it does
    Reports GGUF files whose header stops the reader: a wrong magic or version, a length
    (string, array, count) that runs past the end of the file, an undefined value type, a
    key or tensor name that is not UTF-8; and split sets (`-00001-of-00003.gguf`) whose
    `split.count`, `split.no` or `split.tensors.count` disagree with the parts.

    ## Why is this bad?
    llama.cpp (`gguf_init_from_file`) refuses the file, or loads a set with parts missing.
    A truncated download, a Git LFS pointer, or a hostile file that asks the reader to
    allocate gigabytes all end here.

    ## Example
    A string whose u64 length is 2^62 in a 5 MB file.

    ## References
    - GGUF format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
    """

    code = "AL020"
    name = PROBLEM_NAMES["AL020"]


class GgufStringNotUtf8(ProblemRule):
    """A GGUF metadata string is not valid UTF-8.

    ## What it does
    Checks every string value, and every string of a string array, for strict UTF-8.

    ## Why is this bad?
    The GGUF spec requires UTF-8; tokenizers built from invalid bytes differ between
    readers (replacement characters vs errors), so the same file tokenizes differently.

    ## Example
    `tokenizer.chat_template` holding the Latin-1 byte 0xE9.

    ## References
    - GGUF format, "Standardized key-value pairs": strings are UTF-8
    """

    code = "AL021"
    name = PROBLEM_NAMES["AL021"]


class GgufDuplicateName(ProblemRule):
    """A GGUF metadata key or tensor name appears twice.

    ## What it does
    Reports repeated metadata keys and repeated tensor names.

    ## Why is this bad?
    ggml refuses the file ("duplicate key", "duplicate tensor name"); readers that accept
    it disagree on which copy wins.

    ## Example
    Two `llama.block_count` entries with different values.

    ## References
    - ggml `gguf.cpp`, `gguf_init_from_file`
    """

    code = "AL022"
    name = PROBLEM_NAMES["AL022"]


class GgufUnknownTensorType(ProblemRule):
    """A GGUF tensor has a ggml type this reader does not know, or one ggml removed.

    ## What it does
    Checks each tensor's type id against ggml's `enum ggml_type` (archlint.ggml_types);
    removed ids (Q4_2, Q4_0_4_4 ...) are named.

    ## Why is this bad?
    Its bytes, and so the file's weight memory, cannot be computed; current llama.cpp
    cannot load a removed type.

    ## Example
    A tensor of type 31 (Q4_0_4_4, repacked at load time since 2024 instead).

    ## References
    - ggml `ggml.h`, `enum ggml_type`
    """

    code = "AL023"
    name = PROBLEM_NAMES["AL023"]


class GgufTensorShapeInvalid(ProblemRule):
    """A GGUF tensor's shape is impossible for ggml.

    ## What it does
    Flags more than 4 dimensions (`GGML_MAX_DIMS`), element counts past int64, names of 64
    bytes or more (`GGML_MAX_NAME`), and rows that are not a whole number of blocks of the
    tensor's type (a Q4_K row must hold a multiple of 256 values).

    ## Why is this bad?
    ggml refuses the tensor, and its size cannot be computed.

    ## Example
    `blk.0.attn_q.weight` of type Q4_K with rows of 4,000 values.

    ## References
    - ggml `gguf.cpp` (tensor info checks), `ggml-common.h` (block sizes)
    """

    code = "AL024"
    name = PROBLEM_NAMES["AL024"]


class GgufTensorLayoutInvalid(ProblemRule):
    """GGUF tensor data is misaligned, out of order, has holes, or overlaps.

    ## What it does
    Checks that each tensor's data offset is a multiple of `general.alignment` and exactly
    where the previous tensor (in header order) ends, padded to the alignment; overlapping
    tensors are named separately.

    ## Why is this bad?
    ggml refuses the file ("tensor has offset X, expected Y"); overlapping tensors alias
    each other's weights, and holes can hide data (polyglot files).

    ## Example
    `blk.0.attn_k.weight` at offset 128 inside `blk.0.attn_q.weight`'s bytes.

    ## References
    - ggml `gguf.cpp`, `gguf_init_from_file` (data section size)
    """

    code = "AL025"
    name = PROBLEM_NAMES["AL025"]


class GgufTensorPastEnd(ProblemRule):
    """GGUF tensors extend past the end of the file.

    ## What it does
    Compares the end of the last tensor's data with the file size.

    ## Why is this bad?
    The file is truncated (an interrupted download or upload): llama.cpp fails while
    mapping the weights.

    ## Example
    A 4.9 GB Q4_K_M file cut at 4.0 GB.

    ## References
    - ggml `gguf.cpp`; llama.cpp `llama_model_loader` ("tensor data is not within the file
      bounds")
    """

    code = "AL026"
    name = PROBLEM_NAMES["AL026"]


class GgufMetadataInvalid(ProblemRule):
    """A GGUF metadata value breaks a rule ggml enforces.

    ## What it does
    Flags `general.alignment` that is not a UINT32 power of two, BOOL bytes other than 0/1,
    and arrays of arrays (valid GGUF that ggml's C reader refuses).

    ## Why is this bad?
    ggml refuses the file or reads the value differently from other tools.

    ## Example
    `general.alignment = 48`.

    ## References
    - ggml `gguf.cpp` (alignment check, supported types)
    """

    code = "AL027"
    name = PROBLEM_NAMES["AL027"]


def _gguf(ctx: RuleContext) -> dict[str, Any] | None:
    ckpt = ctx.checkpoint
    return ckpt.gguf if ckpt.weights_format == "gguf" and ckpt.gguf else None


def _at_key(gguf: dict[str, Any], key: str) -> Location:
    files = gguf.get("files") or [None]
    return Location(file=files[0], pointer=json_pointer(key))


class GgufFileTypeMismatch(Rule):
    """`general.file_type` names a quantization the tensors are not stored in.

    ## What it does
    Reads the recipe `general.file_type` declares (llama.cpp's `llama_ftype`: Q4_K_M,
    Q8_0, IQ2_XXS ...) and the ggml type that recipe is built around (Q4_K for Q4_K_M), and
    checks that the file's matrices (tensors of 2 or more dimensions) use that type at all.
    For F16/BF16/F32 files, the matrices must be mostly in that type.

    ## Why is this bad?
    The file type is what the Hub, Ollama and LM Studio show and what people pick a file
    by: a file labelled Q4_K_M that holds Q8_0 weights needs twice the memory the user
    planned for (or a Q2_K one delivers the quality of Q2_K). It happens when files are
    renamed, or requantized by tools that copy the metadata.

    ## Example
    `general.file_type = 15` (MOSTLY_Q4_K_M) with every `blk.N.*` matrix stored as Q8_0.

    ## References
    - llama.cpp `llama.h` (`enum llama_ftype`), `src/llama-quant.cpp` (the recipes)
    """

    code = "AL601"
    name = "gguf-file-type-mismatch"
    default_severity = Severity.WARNING
    needs_tensors = True
    messages: ClassVar[dict[str, str]] = {
        "mismatch": "general.file_type is {declared} (built around {base}) but the file's "
                    "matrices are stored as {stored}",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        gguf = _gguf(ctx)
        tensors = ctx.checkpoint.tensors or []
        declared = (gguf or {}).get("file_type")
        base = FILE_TYPE_BASE.get(declared or "")
        if gguf is None or base is None:
            return
        counts = Counter(t.dtype for t in tensors if len(t.shape) >= 2)
        if not counts:
            return
        # a float file is mostly its type; a recipe uses its base type somewhere
        ok = counts.most_common(1)[0][0] == base if base in UNQUANTIZED else base in counts
        if not ok:
            stored = ", ".join(f"{t} ({n})" for t, n in counts.most_common(3))
            yield ctx.finding("mismatch", _at_key(gguf, "general.file_type"),
                              declared=declared, base=base, stored=stored)


class GgufVocabMismatch(Rule):
    """The tokenizer's vocabulary and the embedding rows of a GGUF file differ.

    ## What it does
    Compares the length of `tokenizer.ggml.tokens` with the rows of `token_embd.weight`
    (and of `output.weight`), when the file also declares `{arch}.vocab_size`. Without
    that key the vocabulary size is read from the token list, and AL110 reports the same
    disagreement against the embedding.

    ## Why is this bad?
    llama.cpp sizes the embedding from the tokenizer (`n_vocab` = the number of tokens) and
    refuses the file ("tensor 'token_embd.weight' has wrong shape"); other readers that
    trust `vocab_size` index past the tokenizer, or decode ids it cannot print.

    ## Example
    `tokenizer.ggml.tokens` of 151,646 strings with `token_embd.weight` of 151,936 rows.

    ## References
    - llama.cpp `src/llama-model.cpp` (`create_tensor` with `{n_embd, n_vocab}`)
    """

    code = "AL602"
    name = "gguf-vocab-mismatch"
    default_severity = Severity.ERROR
    needs_tensors = True
    messages: ClassVar[dict[str, str]] = {
        "rows": "tokenizer.ggml.tokens holds {tokens:,} tokens but {tensor} has {rows:,} rows",
    }

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        gguf = _gguf(ctx)
        if gguf is None:
            return
        meta = gguf.get("metadata") or {}
        tokens = meta.get("tokenizer.ggml.tokens")
        count = tokens.get("length") if isinstance(tokens, dict) else (
            len(tokens) if isinstance(tokens, list) else None)
        arch = meta.get("general.architecture")
        if not isinstance(count, int) or f"{arch}.vocab_size" not in meta:
            return
        for tensor in ctx.checkpoint.tensors or []:
            if tensor.name in ("token_embd.weight", "output.weight") and len(tensor.shape) == 2:
                rows = tensor.shape[0]
                if rows != count:
                    yield ctx.finding("rows", _at_key(gguf, "tokenizer.ggml.tokens"),
                                      tokens=count, tensor=tensor.name, rows=rows)


RULES = [GgufHeaderInvalid, GgufStringNotUtf8, GgufDuplicateName, GgufUnknownTensorType,
         GgufTensorShapeInvalid, GgufTensorLayoutInvalid, GgufTensorPastEnd, GgufMetadataInvalid,
         GgufFileTypeMismatch, GgufVocabMismatch]
