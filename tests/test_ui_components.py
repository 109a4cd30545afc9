"""The UI's plain helpers: upload decoding, samples, span search, the final code list and note highlighting."""

from __future__ import annotations

import codecs

import pytest

from components.highlight import build_annotations, render_note_html
from components.safe_text import md_escape
from core.datasets.note_io import decode_note_bytes, list_samples
from core.schema import CodeSuggestion, CodingResult, Mention, Span
from core.store.review import final_code_list, find_span, move_code, review_states


def span_of(text: str, snippet: str) -> Span:
    start = text.index(snippet)
    return Span(start=start, end=start + len(snippet), text=snippet)


def test_decode_utf8_and_bom() -> None:
    assert decode_note_bytes("Insuficiencia cardíaca".encode()).text == "Insuficiencia cardíaca"
    decoded = decode_note_bytes(codecs.BOM_UTF8 + b"fiebre")
    assert decoded.text == "fiebre" and not decoded.notice


def test_decode_windows_1252_with_notice() -> None:
    decoded = decode_note_bytes("Diagnóstico: neumonía – alta".encode("cp1252"), "nota.txt")
    assert decoded.text == "Diagnóstico: neumonía – alta"
    assert decoded.encoding == "cp1252" and "not UTF-8" in decoded.notice


def test_decode_utf16_with_bom() -> None:
    decoded = decode_note_bytes("Hypertension".encode("utf-16"))
    assert decoded.text == "Hypertension" and decoded.encoding == "utf-16"


@pytest.mark.parametrize("data", [b"%PDF-1.7\x00\x01\x02binary", bytes(range(1, 32)) * 20, b""])
def test_decode_refuses_binary_and_empty(data: bytes) -> None:
    with pytest.raises(ValueError, match="binary|empty"):
        decode_note_bytes(data, "scan.pdf")


def test_samples_cover_both_languages() -> None:
    samples = list_samples()
    assert 4 <= len(samples) <= 6
    assert {s.language for s in samples} == {"en", "es"}
    for sample in samples:
        text = sample.read()
        assert "invented" in text.lower() or "inventado" in text.lower()
        assert len(text) < 2000


def test_find_span_exact_then_case_insensitive_across_line_breaks() -> None:
    note = "History of Heart failure.\nheart\nfailure again."
    assert [(s.start, s.end) for s in find_span(note, "Heart failure")] == [(11, 24)]
    assert [s.text for s in find_span(note, "heart failure")] == ["heart\nfailure"]
    assert find_span(note, "asthma") == [] and find_span(note, "  ") == []


def test_move_code() -> None:
    assert move_code(["A", "B", "C"], "C", -1) == ["A", "C", "B"]
    assert move_code(["A", "B", "C"], "A", -1) == ["A", "B", "C"]
    assert move_code(["A", "B"], "Z", 1) == ["A", "B"]


def make_result(note: str) -> CodingResult:
    return CodingResult(
        note_sha256="x",
        language="en",
        strategy="deterministic",
        backend="none",
        codes=[
            CodeSuggestion(code="I10", description="Hypertension", evidence=[span_of(note, "hypertension")]),
            CodeSuggestion(code="E11.9", description="Diabetes", evidence=[span_of(note, "diabetes")]),
            CodeSuggestion(code="I50.9", description="Heart failure", evidence=[span_of(note, "heart failure")]),
        ],
        candidates=[
            CodeSuggestion(
                code="J18.9", description="Pneumonia", evidence=[span_of(note, "pneumonia")], status="candidate"
            ),
            CodeSuggestion(code="R05.9", description="Cough", evidence=[span_of(note, "cough")], status="candidate"),
        ],
        mentions=[
            Mention(
                span=span_of(note, "pneumonia"),
                source="dictionary",
                codes=["J18.9"],
                assertion="negated",
                assertion_cue="no",
            ),
        ],
    )


NOTE = "Known hypertension and diabetes with heart failure. No pneumonia. Dry cough."


def decision(action: str, code: str, **extra: object) -> dict[str, object]:
    return {
        "action": action,
        "code": code,
        "user": "ann",
        "created_at": "2026-01-01T00:00:00+00:00",
        "replacement_code": None,
        "evidence": [],
        **extra,
    }


def test_final_code_list_applies_decisions() -> None:
    result = make_result(NOTE)
    state = {
        "I10": decision("accept", "I10"),
        "E11.9": decision("reject", "E11.9"),
        "I50.9": decision("edit", "I50.9", replacement_code="I50.22"),
        "R05.9": decision("accept", "R05.9"),
        "Z80.3": decision("add", "Z80.3", evidence=[{"start": 0, "end": 5, "text": "Known"}]),
    }
    final = final_code_list(result, state, describe=lambda code: f"desc {code}")
    assert [(f.code, f.origin) for f in final] == [
        ("I10", "suggested"),
        ("I50.22", "edited"),
        ("R05.9", "suggested"),
        ("Z80.3", "added"),
    ]
    assert final[1].replaces == "I50.9" and final[1].evidence[0]["text"] == "heart failure"
    reordered = final_code_list(result, state, order=["Z80.3", "I10"])
    assert [f.code for f in reordered][:2] == ["Z80.3", "I10"]


def test_replacement_rejected_afterwards_is_not_submitted() -> None:
    """Replace I50.9 with J18.9 (itself a candidate), then reject J18.9: the latest word on J18.9 wins."""
    result = make_result(NOTE)
    edit = decision("edit", "I50.9", replacement_code="J18.9", id=1)
    later_reject = {"I50.9": edit, "J18.9": decision("reject", "J18.9", id=2)}
    assert "J18.9" not in [f.code for f in final_code_list(result, later_reject)]
    earlier_reject = {"J18.9": decision("reject", "J18.9", id=1), "I50.9": {**edit, "id": 2}}
    assert ("J18.9", "edited") in [(f.code, f.origin) for f in final_code_list(result, earlier_reject)]


def test_unreviewed_codes_are_kept_and_flagged_candidates_are_not() -> None:
    final = final_code_list(make_result(NOTE), {})
    assert [f.code for f in final] == ["I10", "E11.9", "I50.9"]
    assert not any(f.reviewed for f in final)


def test_highlight_escapes_html_and_marks_states() -> None:
    note = "<script>alert(1)</script> hypertension & diabetes with heart failure. No pneumonia. Dry cough.\n\nEnd"
    result = make_result(note)
    states = review_states({"I10": decision("accept", "I10"), "E11.9": decision("reject", "E11.9")})
    html = render_note_html(note, build_annotations(note, result, states), focus_code="I10")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&amp;" in html
    assert "\n" not in html and "<br><br>End" in html  # one line: Markdown never sees a blank line
    assert 'class="cc-mark cc-code cc-accepted cc-focus"' in html
    assert "cc-rejected" in html and "cc-has-focus" in html
    negated = html[html.index("cc-negated") - 60 : html.index("pneumonia</mark>")]
    assert "negated (cue: &#x27;no&#x27;)" in negated


def test_highlight_escapes_attributes_and_drops_bad_spans() -> None:
    note = 'Patient "quoted" hypertension'
    result = CodingResult(
        note_sha256="x", language="en", strategy="s", backend="none",
        codes=[
            CodeSuggestion(code="I10", description='Hyper"tension<b>', evidence=[span_of(note, "hypertension")]),
            CodeSuggestion(code="E11.9", evidence=[Span(start=500, end=510, text="missing")]),
        ],
    )  # fmt: skip
    html = render_note_html(note, build_annotations(note, result))
    assert "Hyper&quot;tension&lt;b&gt;" in html and "<b>" not in html
    assert html.count("<mark") == 1


def test_md_escape_neutralises_markdown_and_html() -> None:
    text = "![x](http://example.invalid/t.png) **bold** $x$ <img src=x> :material/home: 1. item"
    escaped = md_escape(text)
    assert "![x](http" not in escaped and "\\!\\[x\\]\\(http" in escaped
    assert "<img" not in escaped and "&lt;img" in escaped
    assert "\\*\\*bold\\*\\*" in escaped and "\\$x\\$" in escaped and "\\:material/home\\:" in escaped
