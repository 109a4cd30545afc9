"""From the note's words to candidate codes: the dictionary linker and index navigation."""
