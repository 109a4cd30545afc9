"""The supervised ranker: candidate features, the model, and the registry that loads or trains it."""
