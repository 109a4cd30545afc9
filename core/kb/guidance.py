"""Coding guidance shown to the LLM: general conventions and one text per ICD-10-CM chapter.

Our own concise guidance (English and Spanish markdown under ``data/guidance/<lang>/``) is always
loaded. When the user provides the official *ICD-10-CM Official Guidelines for Coding and
Reporting* PDF, its Section I.C chapter texts replace our English chapter texts and its Section
I.A/I.B text replaces our English general conventions. A missing or unreadable PDF never fails:
our own guidance is used and :attr:`ResourceInfo.notice` says why.

Chapter keys are the ``simple_icd_10_cm`` chapter ids: ``"1"`` .. ``"22"``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from core.kb.resources import ResourceInfo, file_fingerprint

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "data" / "guidance"
CHAPTERS: tuple[str, ...] = tuple(str(number) for number in range(1, 23))
LANGUAGES: tuple[str, ...] = ("en", "es")
FALLBACK_LANGUAGE = "en"

_VERSION_RE = re.compile(r"^version:\s*(\S+)\s*$", re.MULTILINE)
# "1. Chapter 1: Certain Infectious and Parasitic Diseases (A00-B99)" at the start of a line.
_CHAPTER_HEADING_RE = re.compile(
    r"^[ \t]*(?:[0-9a-z]{1,3}[.)][ \t]*)?Chapter[ \t]+(\d{1,2})[ \t]*:[ \t]*(\S[^\n]*)$",
    re.MULTILINE | re.IGNORECASE,
)
_SECTION_I_RE = re.compile(r"^[ \t]*Section[ \t]+I\.(?=\s)", re.MULTILINE)
_SECTION_IC_RE = re.compile(r"^[ \t]*C\.[ \t]*Chapter[- ]Specific", re.MULTILINE | re.IGNORECASE)
_SECTION_II_RE = re.compile(r"^[ \t]*Section[ \t]+II\.(?=\s)", re.MULTILINE)
_TOC_LEADER_RE = re.compile(r"\.{4,}\s*\d+\s*$")
_FY_RE = re.compile(r"\bFY\s?(20\d\d)\b")


def chapter_key(chapter: str | int) -> str:
    """Normalise ``1``, ``"01"``, ``"Chapter 1"`` to the simple_icd_10_cm id ``"1"``."""
    text = str(chapter).strip()
    match = re.search(r"\d+", text)
    return str(int(match.group())) if match else text


@dataclass
class Guidance:
    """General conventions and per-chapter guidance, keyed by language then chapter id."""

    general: dict[str, str]
    chapters: dict[str, dict[str, str]]
    info: ResourceInfo
    sources: dict[str, str] = field(default_factory=dict)  # "en:9" -> "official PDF" | "built-in"

    def for_chapter(self, chapter: str | int, language: str = "en", max_chars: int | None = None) -> str:
        """Guidance for one chapter in ``language``, falling back to English; ``""`` when unknown."""
        key = chapter_key(chapter)
        text = self.chapters.get(language, {}).get(key) or self.chapters.get(FALLBACK_LANGUAGE, {}).get(key, "")
        return _clip(text, max_chars)

    def general_for(self, language: str = "en", max_chars: int | None = None) -> str:
        """General conventions in ``language``, falling back to English."""
        text = self.general.get(language) or self.general.get(FALLBACK_LANGUAGE, "")
        return _clip(text, max_chars)


def _clip(text: str, max_chars: int | None) -> str:
    if max_chars is None or len(text) <= max_chars:
        return text
    cut = text.rfind("\n", 0, max_chars)
    return text[: cut if cut > max_chars // 2 else max_chars].rstrip() + "\n[…]"


# --------------------------------------------------------------------------- our markdown


def _read_markdown(data_root: Path) -> tuple[dict[str, str], dict[str, dict[str, str]], set[str], list[str]]:
    """Read ``<lang>/general.md`` and ``<lang>/chapter-NN.md``; returns texts, versions and missing files."""
    general: dict[str, str] = {}
    chapters: dict[str, dict[str, str]] = {}
    versions: set[str] = set()
    missing: list[str] = []
    for language in LANGUAGES:
        folder = data_root / language
        general_path = folder / "general.md"
        if general_path.is_file():
            general[language] = general_path.read_text(encoding="utf-8").strip()
            versions.update(_VERSION_RE.findall(general[language]))
        else:
            missing.append(f"{language}/general.md")
        chapters[language] = {}
        for key in CHAPTERS:
            path = folder / f"chapter-{int(key):02d}.md"
            if path.is_file():
                text = path.read_text(encoding="utf-8").strip()
                if text:
                    chapters[language][key] = text
                    versions.update(_VERSION_RE.findall(text))
                    continue
            missing.append(f"{language}/{path.name}")
    return general, chapters, versions, missing


# --------------------------------------------------------------------------- official PDF


@dataclass(frozen=True)
class OfficialText:
    """What was recovered from the official guidelines PDF."""

    general: str
    chapters: dict[str, str]
    edition: str
    pages: int


def pdf_text(path: Path) -> tuple[str, int]:
    """All text of a PDF (pages joined by newlines) and its page count; raises on unreadable files."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if reader.is_encrypted:
        reader.decrypt("")  # most "encrypted" public PDFs only restrict printing/editing
    pages = [page.extract_text() or "" for page in reader.pages]
    return "\n".join(pages), len(pages)


def split_guidelines(text: str) -> tuple[str, dict[str, str]]:
    """Split the official guidelines text into (general conventions, {chapter id: text}).

    Every line ``[n.] Chapter <n>: <title>`` starts a section that runs to the next such heading
    (or to "Section II."). Only headings after the last "C. Chapter-Specific ..." (Section I.C)
    heading count when there is one, which skips the table of contents; lines with dot leaders are
    ignored and, should a chapter still appear twice, its longest section wins. General
    conventions are the text from the last "Section I." heading before I.C up to I.C.
    """
    headings = [
        match
        for match in _CHAPTER_HEADING_RE.finditer(text)
        if chapter_key(match.group(1)) in CHAPTERS and not _TOC_LEADER_RE.search(match.group(0))
    ]
    section_ic = [m.start() for m in _SECTION_IC_RE.finditer(text) if not _TOC_LEADER_RE.search(_line_at(text, m))]
    ic_start = next((pos for pos in reversed(section_ic) if any(h.start() > pos for h in headings)), None)
    if ic_start is not None:
        headings = [match for match in headings if match.start() > ic_start]
    section_ii = [match.start() for match in _SECTION_II_RE.finditer(text)]
    best: dict[str, tuple[int, int]] = {}  # chapter -> (start, end)
    for index, match in enumerate(headings):
        end = headings[index + 1].start() if index + 1 < len(headings) else len(text)
        later_ii = [pos for pos in section_ii if match.end() < pos < end]
        if later_ii:
            end = later_ii[0]
        key = chapter_key(match.group(1))
        if key not in best or end - match.start() > best[key][1] - best[key][0]:
            best[key] = (match.start(), end)
    chapters = {key: _tidy(text[start:end]) for key, (start, end) in best.items()}
    chapters = {key: value for key, value in chapters.items() if value}

    general = ""
    if best:
        end = ic_start if ic_start is not None else min(start for start, _ in best.values())
        section_i = [m.start() for m in _SECTION_I_RE.finditer(text, 0, end)]
        general = _tidy(text[section_i[-1] if section_i else 0 : end])
    return general, dict(sorted(chapters.items(), key=lambda item: int(item[0])))


def _line_at(text: str, match: re.Match[str]) -> str:
    """The whole line on which ``match`` starts."""
    end = text.find("\n", match.start())
    return text[match.start() : end if end >= 0 else len(text)]


def _tidy(text: str) -> str:
    """Drop blank runs and trailing spaces left by PDF extraction."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip()


@lru_cache(maxsize=4)
def _official_cached(path: str, fingerprint: str) -> OfficialText:
    text, pages = pdf_text(Path(path))
    general, chapters = split_guidelines(text)
    edition = _FY_RE.search(text[:5000])
    return OfficialText(general, chapters, f"FY{edition.group(1)}" if edition else "", pages)


def read_official(path: Path) -> OfficialText:
    """Parse the official guidelines PDF (cached per file content within the process)."""
    return _official_cached(str(path), file_fingerprint(path))


# --------------------------------------------------------------------------- entry point


def load_guidance(data_root: Path | None = None, guidelines_pdf: Path | None = None) -> Guidance:
    """Load our guidance and, when ``guidelines_pdf`` is given and readable, the official chapter texts."""
    root = Path(data_root) if data_root is not None else DEFAULT_ROOT
    general, chapters, versions, missing = _read_markdown(root)
    sources = {f"{lang}:{key}": "built-in" for lang, texts in chapters.items() for key in texts}
    edition = max(versions) if versions else ""
    notices: list[str] = []
    if missing:
        notices.append(
            f"built-in guidance incomplete, missing: {', '.join(missing[:6])}"
            + (f" (+{len(missing) - 6} more)" if len(missing) > 6 else "")
        )
    name = "coding guidance (built-in summary)"
    source = str(root)

    if guidelines_pdf is not None:
        pdf = Path(guidelines_pdf)
        official: OfficialText | None = None
        if not pdf.is_file():
            notices.append(f"official guidelines PDF {pdf} not found; using built-in guidance")
        else:
            try:
                official = read_official(pdf)
            except Exception as exc:  # noqa: BLE001 - corrupt, encrypted, not a PDF: never fatal
                log.warning("could not read guidelines PDF %s: %s", pdf, exc)
                notices.append(
                    f"official guidelines PDF {pdf} unreadable ({type(exc).__name__}: {exc}); using built-in guidance"
                )
        if official is not None and not official.chapters:
            notices.append(
                f"no 'Chapter N:' headings found in {pdf.name} ({official.pages} pages); using built-in guidance"
            )
        elif official is not None:
            chapters["en"].update(official.chapters)
            sources.update({f"en:{key}": "official PDF" for key in official.chapters})
            if official.general:
                general["en"] = official.general
                sources["en:general"] = "official PDF"
            absent = [key for key in CHAPTERS if key not in official.chapters]
            if absent:
                notices.append(f"chapters {', '.join(absent)} not found in {pdf.name}; built-in text used for them")
            if not official.general:
                notices.append(f"Section I.A/I.B not found in {pdf.name}; built-in general conventions used")
            name = "ICD-10-CM Official Guidelines (PDF) + built-in summary"
            source = f"{pdf} [{file_fingerprint(pdf)}]; {root}"
            edition = official.edition or edition

    items = sum(len(texts) for texts in chapters.values()) + len(general)
    info = ResourceInfo(
        name=name,
        edition=edition,
        source=source,
        loaded=items > 0,
        items=items,
        notice="; ".join(notices),
    )
    return Guidance(general=general, chapters=chapters, info=info, sources=sources)
