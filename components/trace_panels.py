"""One expander per pipeline step, drawn from whatever ``StepTrace`` entries the run produced."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from components.safe_text import md_escape
from core.schema import CodingResult, StepTrace

MAX_TABLE_ROWS = 200


def _table(rows: list[Any]) -> pd.DataFrame | None:
    """Candidates as a table when they are records; ``None`` when they are something else."""
    if not rows:
        return None
    if all(isinstance(row, dict) for row in rows):
        flat = []
        for row in rows[:MAX_TABLE_ROWS]:
            flat.append(
                {k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for k, v in row.items()}
            )
        return pd.DataFrame(flat)
    if all(isinstance(row, str | int | float) for row in rows):
        return pd.DataFrame({"candidate": rows[:MAX_TABLE_ROWS]})
    return None


def _title(position: int, step: StepTrace) -> str:
    parts = [f"{position}. {step.step}"]
    if step.duration_ms:
        parts.append(f"{step.duration_ms:,.0f} ms")
    if step.output_codes:
        parts.append(f"→ {len(step.output_codes)} codes")
    if step.fallback:
        parts.append("⚠️ fallback")
    return " · ".join(parts)


def render_step(position: int, step: StepTrace, key: str | None = None) -> None:
    with st.expander(_title(position, step), expanded=False, key=key):
        if step.fallback:
            st.warning(f"The deterministic path was used here: {step.fallback}")
        if step.prompt_template or step.prompt_version:
            st.markdown(f"**Prompt:** `{step.prompt_template or '—'}` version `{step.prompt_version or '—'}`")
        if step.rationale:
            st.markdown("**Rationale**")
            st.text(step.rationale)
        if step.output_codes:
            st.markdown("**Output codes:** " + ", ".join(f"`{code}`" for code in step.output_codes))
        for note in step.notes:
            st.caption(md_escape(note))
        if step.inputs:
            st.markdown("**Inputs**")
            st.json(step.inputs, expanded=False)
        if step.candidates:
            st.markdown(f"**Candidates** ({len(step.candidates)})")
            table = _table(step.candidates)
            if table is not None:
                st.dataframe(table, hide_index=True, width="stretch")
            else:
                st.json(step.candidates, expanded=False)
        if step.raw_answer:
            st.markdown("**Raw model answer**")
            st.code(step.raw_answer, language=None, wrap_lines=True)
        if step.parsed is not None:
            st.markdown("**Parsed choice**")
            if isinstance(step.parsed, dict | list):
                st.json(step.parsed, expanded=True)
            else:
                st.code(str(step.parsed), language=None)


def render_trace(result: CodingResult) -> None:
    st.markdown(
        f"#### Pipeline steps ({result.strategy}, backend {result.backend}{' · ' + result.model if result.model else ''})"
    )
    if not result.trace:
        st.caption("This run recorded no steps.")
    for position, step in enumerate(result.trace, start=1):
        render_step(position, step, key=f"step-{result.note_sha256[:12]}-{position}")
    if result.timings_ms:
        st.caption("Timings: " + ", ".join(f"{k} {v:,.0f} ms" for k, v in result.timings_ms.items()))
    if result.resources:
        with st.expander("Resource versions used", expanded=False):
            st.json(result.resources, expanded=True)


def render_mentions(result: CodingResult) -> None:
    """Every piece of evidence the pipeline found, including what it decided not to code and why."""
    if not result.mentions:
        return
    rows = [
        {
            "text": m.span.text,
            "start": m.span.start,
            "end": m.span.end,
            "assertion": m.assertion,
            "cue": m.assertion_cue,
            "term": m.term,
            "codes": ", ".join(m.codes[:5]),
            "score": round(m.score, 3),
            "source": m.source,
        }
        for m in result.mentions
    ]
    with st.expander(f"Evidence found in the note ({len(rows)} mentions)", expanded=False):
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
