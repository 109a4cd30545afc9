"""Streamlit UI pieces. They render results and collect coder decisions; the logic they call lives in ``core``.

Modules without Streamlit imports (``highlight``; note decoding and review logic live in ``core.datasets.note_io`` and ``core.store.review``) are plain functions that the tests
exercise directly.
"""
