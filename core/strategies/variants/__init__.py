"""Seed LLM strategies to compare with "clh": rag, hierarchical, classifier-validator, dictionary-llm.

Each returns the same :class:`~core.schema.CodingResult` and falls back to the deterministic result, saying so
in the trace, when the model gives nothing usable.
"""

from core.strategies.variants.classifier_validator import run_classifier_validator
from core.strategies.variants.dictionary_llm import run_dictionary_llm
from core.strategies.variants.hierarchical import run_hierarchical
from core.strategies.variants.rag import run_rag

__all__ = ["run_classifier_validator", "run_dictionary_llm", "run_hierarchical", "run_rag"]
