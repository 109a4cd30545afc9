"""Adapters for coded-note datasets (CodiEsp) and for getting note text in (uploads, samples)."""
