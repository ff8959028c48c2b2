"""Text generation on the shared encoder: the generative head a summarization or
translation plugin subclasses, its Hugging Face decoder and its target tokenizer.
"""

from ..errors import GenerationSettingsError
from .head import GenerativeHead, check_generation_settings

__all__ = ["GenerationSettingsError", "GenerativeHead", "check_generation_settings"]
