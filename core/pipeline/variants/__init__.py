"""Seed LLM strategies to compare with "clh": rag, hierarchical, classifier-validator, dictionary-llm.

Each returns the same :class:`~core.schema.CodingResult` and falls back to the deterministic result, saying so
in the trace, when the model gives nothing usable.
"""

from core.pipeline.variants.classifier_validator import run_classifier_validator
from core.pipeline.variants.dictionary_llm import run_dictionary_llm
from core.pipeline.variants.hierarchical import run_hierarchical
from core.pipeline.variants.rag import run_rag

__all__ = ["run_classifier_validator", "run_dictionary_llm", "run_hierarchical", "run_rag"]
