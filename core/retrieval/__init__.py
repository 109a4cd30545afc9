"""Lexical (BM25) and dense (FAISS) retrieval over index terms and descriptions, fused."""
