"""Streamlit UI pieces. They render results and collect coder decisions; the logic they call lives in ``core``.

Modules without Streamlit imports (``note_io``, ``highlight``, ``review``) are plain functions that the tests
exercise directly.
"""
