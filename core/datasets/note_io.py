"""Getting note text into the app: uploaded bytes, bundled sample notes and CodiEsp cases (no Streamlit here)."""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from core.datasets.codiesp import TEXT_DIRS, CodiEsp
from core.settings import PROJECT_ROOT, Settings

SAMPLES_DIR = PROJECT_ROOT / "data" / "samples"
# Share of control characters above which decoded bytes are treated as binary, not as text.
MAX_CONTROL_SHARE = 0.01


@dataclass(frozen=True)
class DecodedNote:
    text: str
    encoding: str
    notice: str = ""  # shown to the coder when the file was not plain UTF-8


@dataclass(frozen=True)
class SampleNote:
    name: str  # file stem, e.g. "en_01_heart_failure"
    language: str  # "en" or "es"
    title: str  # shown in the picker
    path: Path

    def read(self) -> str:
        return self.path.read_text(encoding="utf-8")


def _control_share(text: str) -> float:
    if not text:
        return 0.0
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    return controls / len(text)


def _binary_error(name: str) -> ValueError:
    return ValueError(
        f"{name or 'The file'} looks like a binary file, not a text note. Upload a plain-text (.txt) note, "
        "or copy the text from the document and paste it."
    )


def decode_note_bytes(data: bytes, name: str = "") -> DecodedNote:
    """Decode an uploaded note: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252 / Latin-1.

    Raises ``ValueError`` with a message for the coder when the bytes are empty or binary.
    """
    if not data:
        raise ValueError(f"{name or 'The file'} is empty.")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _binary_error(name) from exc
        if "\x00" in text or _control_share(text) > MAX_CONTROL_SHARE:
            raise _binary_error(name)
        return DecodedNote(text, "utf-16", "The file was UTF-16 encoded; it was converted to UTF-8 text.")
    if b"\x00" in data:
        raise _binary_error(name)
    try:
        text = data.decode("utf-8-sig")
        encoding, notice = "utf-8", ""
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
            encoding = "cp1252"
        except UnicodeDecodeError:
            text = data.decode("latin-1")
            encoding = "latin-1"
        notice = (
            f"The file is not UTF-8; it was read as {'Windows-1252' if encoding == 'cp1252' else 'Latin-1'}. "
            "Check accented characters before coding, or save the note as UTF-8."
        )
    if _control_share(text) > MAX_CONTROL_SHARE:
        raise _binary_error(name)
    return DecodedNote(text, encoding, notice)


def list_samples(folder: Path = SAMPLES_DIR) -> list[SampleNote]:
    """Bundled invented notes; the file name starts with the language (``en_...`` / ``es_...``)."""
    samples = []
    for path in sorted(folder.glob("*.txt")):
        language = path.stem.split("_", 1)[0]
        if language not in TEXT_DIRS:
            continue
        words = path.stem.split("_")[2:] or path.stem.split("_")[1:]
        title = f"{language.upper()} · {' '.join(words).capitalize()}"
        samples.append(SampleNote(path.stem, language, title, path))
    return samples


def codiesp_splits(settings: Settings) -> list[str]:
    """Splits (train, dev, ...) that have at least one text folder."""
    corpus = CodiEsp.from_settings(settings)
    return [] if corpus is None else sorted(corpus.available_splits())


def codiesp_case_ids(settings: Settings, split: str, language: str) -> list[str]:
    corpus = CodiEsp.from_settings(settings)
    return [] if corpus is None else corpus.case_ids(split, language)


def load_codiesp_case(settings: Settings, split: str, language: str, case_id: str) -> str:
    corpus = CodiEsp.from_settings(settings)
    if corpus is None:
        raise FileNotFoundError(f"CodiEsp not found under {settings.data_dir}")
    return corpus.case_text(split, language, case_id)  # bytes, so offsets match the gold files exactly
