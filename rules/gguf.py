"""GGUF files: the integrity problems the strict GGUF header reader records
(archlint.source.gguf_header.PROBLEM_NAMES), each a rule like the safetensors ones."""

from __future__ import annotations

from archlint.source.gguf_header import PROBLEM_NAMES

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


RULES = [GgufHeaderInvalid, GgufStringNotUtf8, GgufDuplicateName, GgufUnknownTensorType,
         GgufTensorShapeInvalid, GgufTensorLayoutInvalid, GgufTensorPastEnd, GgufMetadataInvalid]
