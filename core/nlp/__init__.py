"""Reading a note once: tokens, sentences and clauses, assertion (negated, historical, family ...), laterality, status
readings and abbreviations."""
