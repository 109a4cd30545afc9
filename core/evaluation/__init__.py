"""Scoring coded notes: metrics, evaluation runs and their folders, the Evaluation page's tables, decision metrics."""
