"""Provenance of every loaded resource: name, edition, source and whether it is present."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel


class ResourceInfo(BaseModel):
    name: str
    edition: str = ""
    source: str = ""
    loaded: bool = True
    items: int = 0
    notice: str = ""  # what is missing and what was used instead

    def key(self) -> str:
        """A short string that changes when the resource changes (used in cache keys)."""
        return f"{self.name}:{self.edition}:{self.source}:{self.items}"


def file_fingerprint(path: Path) -> str:
    """Cheap content key: size + mtime + sha256 of the first MiB."""
    stat = path.stat()
    with path.open("rb") as handle:
        head = hashlib.sha256(handle.read(1 << 20)).hexdigest()[:16]
    return f"{stat.st_size}-{int(stat.st_mtime)}-{head}"


def combined_key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]
