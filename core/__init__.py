"""Clinical coding assistant core: knowledge base, retrieval, pipeline steps, backends, storage, evaluation.

Nothing in this package imports streamlit.
"""

__version__ = "0.1.0"
