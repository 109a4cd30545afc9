"""The note as HTML with its evidence spans highlighted (no Streamlit here).

Every character of the note is HTML-escaped: a note containing ``<script>`` or markup renders as text.
Spans are coloured by the review state of the code they support (MedCATtrainer-like colours), negated /
family / hypothetical mentions are struck through in grey with the assertion cue in the tooltip, and a
focused code's spans are outlined while the others fade.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from core.schema import CodingResult, Span

NOT_CODABLE = ("negated", "family", "hypothetical")
STATE_PRIORITY = {"accepted": 5, "added": 5, "edited": 4, "unreviewed": 3, "rejected": 1}

NOTE_CSS = """
<style>
.cc-note{white-space:pre-wrap;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:0.9rem;
 line-height:1.7;padding:0.9rem 1rem;border:1px solid #d0d7de;border-radius:0.5rem;background:#fff;color:#1f2328;
 max-height:70vh;overflow-y:auto}
.cc-note mark{padding:0.05rem 0.1rem;border-radius:0.2rem;border-bottom:2px solid transparent;color:inherit}
mark.cc-unreviewed{background:#dbeafe;border-bottom-color:#3b82f6}
mark.cc-candidate.cc-unreviewed{background:#eff6ff;border-bottom:2px dashed #60a5fa}
mark.cc-accepted{background:#bbf7d0;border-bottom-color:#16a34a}
mark.cc-rejected{background:#fecaca;border-bottom-color:#dc2626}
mark.cc-edited{background:#fde68a;border-bottom-color:#d97706}
mark.cc-added{background:#e9d5ff;border-bottom-color:#9333ea}
mark.cc-mention{background:transparent;border-bottom:1px dotted #6b7280}
mark.cc-negated{color:#6b7280;text-decoration:line-through;text-decoration-color:#9ca3af}
mark.cc-mention.cc-negated{background:#f3f4f6}
mark.cc-focus{outline:2px solid #111827;outline-offset:1px;font-weight:600}
.cc-has-focus mark:not(.cc-focus){opacity:0.45}
.cc-legend{font-size:0.8rem;margin:0.2rem 0 0.6rem 0}
.cc-legend mark{margin-right:0.5rem;padding:0.05rem 0.3rem;border-radius:0.2rem;border-bottom:2px solid transparent}
</style>
"""

LEGEND_HTML = (
    '<div class="cc-legend">'
    '<mark class="cc-unreviewed">unreviewed code</mark>'
    '<mark class="cc-candidate cc-unreviewed">candidate</mark>'
    '<mark class="cc-accepted">accepted</mark>'
    '<mark class="cc-rejected">rejected</mark>'
    '<mark class="cc-edited">replaced</mark>'
    '<mark class="cc-added">added by coder</mark>'
    '<mark class="cc-mention cc-negated">negated / not codable</mark>'
    "</div>"
)


@dataclass
class Annotation:
    start: int
    end: int
    kind: str  # "code" | "candidate" | "added" | "mention"
    codes: list[str] = field(default_factory=list)
    label: str = ""  # tooltip line
    state: str = "unreviewed"
    assertion: str = "present"
    cue: str = ""


def _locate(text: str, span: Span | dict[str, Any]) -> tuple[int, int] | None:
    """Offsets checked against the note; a span whose text moved is searched for; a missing one is dropped."""
    start, end, snippet = (
        (span.start, span.end, span.text)
        if isinstance(span, Span)
        else (int(span["start"]), int(span["end"]), str(span.get("text", "")))
    )
    if 0 <= start < end <= len(text) and (not snippet or text[start:end] == snippet):
        return start, end
    if snippet:
        found = text.find(snippet)
        if found >= 0:
            return found, found + len(snippet)
    return None


def build_annotations(
    text: str,
    result: CodingResult,
    states: dict[str, str] | None = None,
    added: list[dict[str, Any]] | None = None,
) -> list[Annotation]:
    """Annotations for every code / candidate evidence span, every mention, and every coder-added span."""
    states = states or {}
    annotations: list[Annotation] = []
    for kind, items in (("code", result.codes), ("candidate", result.candidates)):
        for item in items:
            state = states.get(item.code, "unreviewed")
            label = f"{item.code} {item.description} — {'code' if kind == 'code' else 'candidate'}, {state}"
            for span in item.evidence:
                where = _locate(text, span)
                if where:
                    annotations.append(Annotation(*where, kind=kind, codes=[item.code], label=label, state=state))
    for mention in result.mentions:
        where = _locate(text, mention.span)
        if not where:
            continue
        codes = ", ".join(mention.codes[:5]) or "no code"
        if mention.assertion in NOT_CODABLE:
            label = f"{mention.assertion} (cue: '{mention.assertion_cue}') — not coded; matched {codes}"
        elif mention.assertion != "present":
            label = f"{mention.assertion} (cue: '{mention.assertion_cue}'); matched {codes}"
        else:
            label = f"mention '{mention.term or mention.span.text}' → {codes}"
        annotations.append(
            Annotation(
                *where,
                kind="mention",
                codes=list(mention.codes[:1]),
                label=label,
                assertion=mention.assertion,
                cue=mention.assertion_cue,
            )
        )
    for row in added or []:
        for span in row.get("evidence") or []:
            where = _locate(text, span)
            if where:
                annotations.append(
                    Annotation(
                        *where,
                        kind="added",
                        codes=[row["code"]],
                        label=f"{row['code']} — added by {row['user']}",
                        state="added",
                    )
                )
    return annotations


def _escape(segment: str) -> str:
    escaped = html.escape(segment, quote=True)
    # One line of HTML: a blank line would end the HTML block and let Markdown parse the note.
    return escaped.replace("\r\n", "<br>").replace("\r", "<br>").replace("\n", "<br>")


def _mark(segment: str, covering: list[Annotation], focus_code: str | None) -> str:
    coded = [a for a in covering if a.kind != "mention"]
    main = max(coded, key=lambda a: (a.kind == "code", STATE_PRIORITY.get(a.state, 0))) if coded else covering[0]
    classes = ["cc-mark"]
    if coded:
        classes += [f"cc-{main.kind}", f"cc-{main.state}"]
    else:
        classes.append("cc-mention")
    if any(a.assertion in NOT_CODABLE for a in covering):
        classes.append("cc-negated")
    codes = sorted({code for a in covering for code in a.codes})
    if focus_code and focus_code in {code for a in coded for code in a.codes}:
        classes.append("cc-focus")
    title = "\n".join(dict.fromkeys(a.label for a in covering))
    return (
        f'<mark class="{" ".join(classes)}" data-codes="{html.escape(" ".join(codes), quote=True)}" '
        f'title="{html.escape(title, quote=True).replace(chr(10), "&#10;")}">{_escape(segment)}</mark>'
    )


def render_note_html(text: str, annotations: list[Annotation], focus_code: str | None = None) -> str:
    """The escaped note with ``<mark>`` elements over annotated stretches; overlapping spans are split."""
    cuts = {0, len(text)}
    for a in annotations:
        cuts.update((a.start, a.end))
    bounds = sorted(c for c in cuts if 0 <= c <= len(text))
    parts: list[str] = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        if start == end:
            continue
        covering = [a for a in annotations if a.start <= start and a.end >= end]
        segment = text[start:end]
        parts.append(_mark(segment, covering, focus_code) if covering else _escape(segment))
    wrapper = "cc-note cc-has-focus" if focus_code else "cc-note"
    return f'<div class="{wrapper}">{"".join(parts)}</div>'
