"""The coder's worklist: charts imported in bulk (``intake``), pre-coded by background workers under a lease
(``queue``, ``worker``), reviewed one after another by coders, and the throughput figures a manager watches
(``throughput``). The table itself is :mod:`core.store.worklist`; the decisions stay in the decision store."""
