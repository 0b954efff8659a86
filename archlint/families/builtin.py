"""The built-in family pack: every adapter and mixer archlint ships, registered through the
same `archlint.families` entry point (`builtin = "archlint.families.builtin"`) that a plugin
package uses. A pack module exposes `ADAPTERS` (Adapter subclasses, each naming the
`model_types` it reads) and optionally `MIXERS` (constant-state mixer formulas by variant)."""

from __future__ import annotations

from archlint.families.attention_variants import ATTENTION_VARIANT_ADAPTERS
from archlint.families.base import Adapter
from archlint.families.blt import BLT_ADAPTERS
from archlint.families.decoders import DECODER_ADAPTERS
from archlint.families.deepseek_v4 import DEEPSEEK_V4_ADAPTERS
from archlint.families.dialects import (
    DBRX,
    GPT2,
    GPTJ,
    MPT,
    Bert,
    Bloom,
    Cohere,
    DeepSeek,
    Falcon,
    Gemma,
    GPTNeoX,
    GptOss,
    Llama,
    Llama4,
    Olmo2,
    Phi3,
    Qwen,
    Qwen3Next,
    Starcoder2,
)
from archlint.families.encdec import ENCDEC_ADAPTERS
from archlint.families.encdec_wrappers import ENCDEC_WRAPPER_ADAPTERS
from archlint.families.encoders import ENCODER_ADAPTERS
from archlint.families.glm5_next import GLM5_NEXT_ADAPTERS
from archlint.families.hybrids import HYBRID_ADAPTERS
from archlint.families.mm_text import MM_TEXT_ADAPTERS
from archlint.families.moe_variants import MOE_VARIANT_ADAPTERS
from archlint.families.remote_code import REMOTE_CODE_ADAPTERS
from archlint.mixers import BUILTIN_MIXERS, Mixer

ADAPTERS: tuple[type[Adapter], ...] = (
    Llama,
    Qwen,
    Qwen3Next,
    Phi3,
    Olmo2,
    Starcoder2,
    Gemma,
    Cohere,
    DeepSeek,
    GptOss,
    Llama4,
    Falcon,
    GPT2,
    GPTJ,
    GPTNeoX,
    Bloom,
    MPT,
    DBRX,
    Bert,
    *ENCDEC_ADAPTERS,
    *ENCDEC_WRAPPER_ADAPTERS,
    *ENCODER_ADAPTERS,
    *HYBRID_ADAPTERS,
    *ATTENTION_VARIANT_ADAPTERS,
    *MOE_VARIANT_ADAPTERS,
    *DECODER_ADAPTERS,
    *DEEPSEEK_V4_ADAPTERS,
    *GLM5_NEXT_ADAPTERS,
    *BLT_ADAPTERS,
    *MM_TEXT_ADAPTERS,
    *REMOTE_CODE_ADAPTERS,
)
MIXERS: tuple[Mixer, ...] = BUILTIN_MIXERS
