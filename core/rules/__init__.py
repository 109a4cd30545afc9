"""The classification's own rules applied after candidates are found: edit checks."""
