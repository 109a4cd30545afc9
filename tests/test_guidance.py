"""Coding guidance: built-in markdown for every chapter, language fallback and the official-PDF split."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.kb.guidance import CHAPTERS, DEFAULT_ROOT, chapter_key, load_guidance, split_guidelines


def minimal_pdf(pages: list[list[str]]) -> bytes:
    """A hand-written PDF (Helvetica, one text line per entry) that pypdf can extract text from."""
    font_id = 3 + 2 * len(pages)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(len(pages))), len(pages)),
    ]
    for index, lines in enumerate(pages):
        escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
        body = "BT /F1 10 Tf 14 TL 72 760 Td " + " ".join(f"({line}) Tj T*" for line in escaped) + " ET"
        stream = body.encode("latin-1")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >> "
            b"/Contents %d 0 R >>" % (font_id, 4 + 2 * index)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


GUIDELINES_PAGES = [
    [
        "ICD-10-CM Official Guidelines for Coding and Reporting FY 2099",
        "Table of Contents",
        "Section I. Conventions, general coding guidelines and chapter specific guidelines ........ 1",
        "1. Chapter 1: Certain Infectious and Parasitic Diseases (A00-B99) ........ 2",
        "2. Chapter 2: Neoplasms (C00-D49) ........ 2",
        "Chapter 1: Certain Infectious and Parasitic Diseases (A00-B99)",
    ],
    [
        "Section I. Conventions, general coding guidelines and chapter specific guidelines",
        "A. Conventions for the ICD-10-CM",
        "General text G: excludes notes and other conventions.",
        "B. General Coding Guidelines",
        "C. Chapter-Specific Coding Guidelines",
        "1. Chapter 1: Certain Infectious and Parasitic Diseases (A00-B99)",
        "Official text A about sepsis and HIV.",
        "More official text A.",
        "2. Chapter 2: Neoplasms (C00-D49)",
        "Official text B about primary and secondary neoplasms.",
        "Section II. Selection of Principal Diagnosis",
        "Text of section II that belongs to no chapter.",
    ],
]


@pytest.fixture(scope="module")
def guidance():
    return load_guidance()


@pytest.fixture()
def guidelines_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "icd10cm-guidelines-FY2099.pdf"
    path.write_bytes(minimal_pdf(GUIDELINES_PAGES))
    return path


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_chapter_exists_and_is_non_empty(language: str) -> None:
    for chapter in CHAPTERS:
        path = DEFAULT_ROOT / language / f"chapter-{int(chapter):02d}.md"
        assert path.is_file(), path
        text = path.read_text(encoding="utf-8")
        lines = text.strip().splitlines()
        heading = "Chapter" if language == "en" else "Capítulo"
        assert lines[0].startswith(f"# {heading} {chapter} — "), (path, lines[0])
        assert "version: 2026.1" in lines[:3]
        assert 8 <= len(lines) <= 25, (path, len(lines))
    assert (DEFAULT_ROOT / language / "general.md").read_text(encoding="utf-8").strip()


def test_chapter_ids_match_simple_icd_10_cm() -> None:
    icd = pytest.importorskip("simple_icd_10_cm")
    assert all(icd.is_chapter(chapter) for chapter in CHAPTERS)
    assert not icd.is_chapter("23")


def test_builtin_guidance_loads(guidance) -> None:
    assert guidance.info.loaded and not guidance.info.notice
    assert guidance.info.edition == "2026.1"
    assert guidance.info.items == 2 * (len(CHAPTERS) + 1)
    assert "Excludes1" in guidance.general_for("en")
    assert "Excluye1" in guidance.general_for("es")
    assert "I11" in guidance.for_chapter("9", "en")
    assert "Capítulo 9" in guidance.for_chapter("9", "es")
    assert all(guidance.sources[f"{lang}:{ch}"] == "built-in" for lang in ("en", "es") for ch in CHAPTERS)


def test_chapter_key_normalisation(guidance) -> None:
    assert chapter_key(4) == chapter_key("04") == chapter_key("Chapter 4") == "4"
    assert guidance.for_chapter(4) == guidance.for_chapter("04") == guidance.for_chapter("4")
    assert guidance.for_chapter("99") == ""


def test_language_fallback_to_english(guidance) -> None:
    assert guidance.for_chapter("15", "fr") == guidance.for_chapter("15", "en")
    assert guidance.general_for("fr") == guidance.general_for("en")


def test_missing_language_file_falls_back(tmp_path: Path) -> None:
    root = tmp_path / "guidance"
    shutil.copytree(DEFAULT_ROOT, root)
    (root / "es" / "chapter-07.md").unlink()
    loaded = load_guidance(root)
    assert loaded.for_chapter("7", "es") == loaded.for_chapter("7", "en")
    assert loaded.for_chapter("7", "es").startswith("# Chapter 7")
    assert "es/chapter-07.md" in loaded.info.notice


def test_max_chars_clips(guidance) -> None:
    clipped = guidance.for_chapter("19", "en", max_chars=200)
    assert len(clipped) <= 204 and clipped.endswith("[…]")


def test_split_guidelines_text() -> None:
    text = "\n".join(line for page in GUIDELINES_PAGES for line in page)
    general, chapters = split_guidelines(text)
    assert set(chapters) == {"1", "2"}
    assert "Official text A" in chapters["1"] and "More official text A." in chapters["1"]
    assert "Official text B" in chapters["2"] and "Section II" not in chapters["2"]
    assert general.startswith("Section I.") and "General text G" in general
    assert "Official text A" not in general and "Table of Contents" not in general and "...." not in general
    assert not general.rstrip().endswith("C. Chapter-Specific Coding Guidelines")


def test_split_without_section_ic_uses_longest_section() -> None:
    lines = [
        "Chapter 1: Certain Infectious and Parasitic Diseases (A00-B99)",
        "Chapter 2: Neoplasms (C00-D49)",
        "Chapter 1: Certain Infectious and Parasitic Diseases (A00-B99)",
        "Real text A.",
        "Second line A.",
        "Chapter 2: Neoplasms (C00-D49)",
        "Real text B.",
    ]
    text = "\n".join(lines)
    _, chapters = split_guidelines(text)
    assert "Real text A." in chapters["1"] and "Real text B." in chapters["2"]


def test_official_pdf_replaces_english_chapters(guidelines_pdf: Path) -> None:
    loaded = load_guidance(guidelines_pdf=guidelines_pdf)
    assert loaded.for_chapter("1", "en").startswith("1. Chapter 1: Certain Infectious")
    assert "Official text A" in loaded.for_chapter("1", "en")
    assert "Official text B" in loaded.for_chapter("2", "en")
    assert "Official text A" not in loaded.for_chapter("2", "en")
    assert "General text G" in loaded.general_for("en")
    # chapters missing from the PDF and the Spanish texts stay ours
    assert loaded.for_chapter("9", "en").startswith("# Chapter 9")
    assert loaded.for_chapter("1", "es").startswith("# Capítulo 1")
    assert loaded.sources["en:1"] == "official PDF" and loaded.sources["en:9"] == "built-in"
    assert "Official Guidelines" in loaded.info.name and str(guidelines_pdf) in loaded.info.source
    assert loaded.info.edition == "FY2099"
    assert "chapters 3, 4" in loaded.info.notice


def test_missing_pdf_falls_back_with_notice(tmp_path: Path) -> None:
    loaded = load_guidance(guidelines_pdf=tmp_path / "nope.pdf")
    assert "not found" in loaded.info.notice
    assert loaded.for_chapter("1", "en").startswith("# Chapter 1")
    assert loaded.info.loaded


def test_corrupt_pdf_falls_back_with_notice(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.pdf"
    bad.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    loaded = load_guidance(guidelines_pdf=bad)
    assert "unreadable" in loaded.info.notice or "no 'Chapter N:' headings" in loaded.info.notice
    assert loaded.for_chapter("2", "en").startswith("# Chapter 2")
    assert loaded.general_for("en").startswith("# General coding conventions")


def test_pdf_without_chapters_falls_back(tmp_path: Path) -> None:
    other = tmp_path / "other.pdf"
    other.write_bytes(minimal_pdf([["A discharge letter, not the guidelines."]]))
    loaded = load_guidance(guidelines_pdf=other)
    assert "no 'Chapter N:' headings" in loaded.info.notice
    assert loaded.for_chapter("1", "en").startswith("# Chapter 1")
