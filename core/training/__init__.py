"""Learning from coders: submitted charts as training notes and retraining the ranker with before/after figures."""
