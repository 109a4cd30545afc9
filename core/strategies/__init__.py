"""Coding strategies: the deterministic path, the ranker, Code Like Humans (``clh/``) and the seed variants
(``variants/``), run by :func:`core.strategies.runner.code_note`."""
