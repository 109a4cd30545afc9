"""Reference knowledge, loaded lazily and cached: the tabular list, the alphabetical index, term lists, chapter guidance,
the Neoplasm Table, and the :class:`~core.kb.knowledge.KnowledgeBase` facade that builds the dictionary and retrievers."""
