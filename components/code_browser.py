"""Code browser: search the tabular list, the alphabetical index, or both by meaning (hybrid retrieval); a code's
hierarchy and its notes."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.kb.knowledge import KnowledgeBase
from core.kb.tabular import NOTE_FIELDS, InstructionalNotes
from core.retrieval.hybrid import HybridRetriever

CODE_KEY = "browser_code"
QUERY_KEY = "browser_query"
MODE_KEY = "browser_mode"
INDEX_LIMIT = 100
RETRIEVAL_LIMIT = 25
MODES = ["Tabular list", "Alphabetical index", "Related terms"]
MODE_HELP = (
    "Tabular list: codes and descriptions holding every word. Alphabetical index: index entries. Related terms: "
    "index paths and descriptions ranked by the words (BM25) and, when the words find little, by meaning (sentence "
    "embeddings; the first such search builds that index in the background: minutes, once)."
)
INDENT = "\u00a0\u00a0\u00a0"  # non-breaking: leading spaces would turn a label into a Markdown code block
NOTE_LABELS = {
    "includes": "Includes",
    "inclusion_terms": "Inclusion terms",
    "excludes1": "Excludes1 (never together)",
    "excludes2": "Excludes2 (not included here; both may be coded)",
    "code_first": "Code first",
    "use_additional": "Use additional code",
    "code_also": "Code also",
    "notes": "Notes",
}


def _go(code: str) -> None:
    st.session_state[CODE_KEY] = code


def _notes_block(notes: InstructionalNotes) -> None:
    for name in NOTE_FIELDS:
        lines = getattr(notes, name)
        if lines:
            st.markdown(f"**{NOTE_LABELS[name]}**")
            st.markdown("\n".join(f"- {line}" for line in lines))
    if notes.seven_chr_def:
        st.markdown("**7th character**" + (f" — {notes.seven_chr_note}" if notes.seven_chr_note else ""))
        st.markdown("\n".join(f"- `{k}` {v}" for k, v in notes.seven_chr_def.items()))


def render_code_details(kb: KnowledgeBase, code: str) -> None:
    tabular = kb.tabular
    item = tabular.get(code)
    if item is None:
        st.warning(f"{code} is not in the ICD-10-CM tabular list ({tabular.info.edition}).")
        return
    badge = ":green-badge[billable]" if item.billable else ":orange-badge[not billable]"
    st.markdown(f"### {item.code} {item.description}")
    st.markdown(f"{badge} :gray-badge[{item.kind}] :gray-badge[chapter {item.chapter}]")

    ancestors = list(reversed(tabular.ancestors(item.code)))  # chapter first
    if ancestors:
        st.markdown("**Hierarchy**")
        for depth, name in enumerate(ancestors):
            prefix = f"{INDENT * depth}↳ " if depth else ""
            st.button(
                f"{prefix}{name} — {tabular.description(name)}",
                key=f"anc-{name}",
                on_click=_go,
                args=(name,),
                type="tertiary",
            )
        st.markdown(f"{INDENT * len(ancestors)}↳ **{item.code} — {item.description}** (this code)")
    if item.children:
        st.markdown(f"**Children ({len(item.children)})**")
        for child in item.children:
            mark = "" if tabular.is_billable(child) else " ▸"
            st.button(
                f"{child} — {tabular.description(child)}{mark}",
                key=f"child-{child}",
                on_click=_go,
                args=(child,),
                type="tertiary",
            )
    if not item.billable:
        billable = tabular.billable_descendants(item.code)
        st.caption(
            f"{len(billable)} billable codes below {item.code}"
            + (f", e.g. {', '.join(billable[:8])}" if billable else "")
        )

    st.markdown("#### Instructional notes that apply")
    st.caption("Notes on a code apply to every code below it; here they are listed by the level that carries them.")
    shown = False
    for name in [item.code, *reversed(ancestors)]:
        notes = tabular.codes[name].notes
        if notes.is_empty():
            continue
        shown = True
        with st.expander(f"From {name} — {tabular.description(name)}", expanded=name == item.code):
            _notes_block(notes)
    if not shown:
        st.caption("No instructional notes on this code or its ancestors.")


def _tabular_results(kb: KnowledgeBase, query: str, language: str) -> None:
    with st.spinner("Searching (the first search loads the dictionary)…"):
        results = kb.search_codes(query, limit=50, language=language)  # words also as terms of the language
    if not results:
        st.caption("No code matches.")
        return
    labels = {r.code: f"{r.code} — {r.description}" + ("" if r.billable else " ▸") for r in results}
    picked = st.selectbox(
        f"{len(results)} codes (▸ not billable)",
        list(labels),
        key="browser_pick",
        format_func=labels.get,
        on_change=lambda: _go(st.session_state["browser_pick"]),
    )
    if st.session_state.get(CODE_KEY) is None:
        _go(picked)


def _index_results(kb: KnowledgeBase, query: str) -> None:
    index = kb.index
    if not index.official_loaded:
        st.warning("The official alphabetical index is not loaded: entries are derived from the tabular list.")
    hits = index.search(query, limit=INDEX_LIMIT)
    if not hits:
        st.caption("No index entry matches.")
        return
    rows: list[dict[str, Any]] = [
        {
            "entry": " › ".join(t.path) + (f" {t.nonessential}" if t.nonessential else ""),
            "code": t.code,
            "see": t.see,
            "see also": t.see_also,
            "source": t.source,
        }
        for t in hits
    ]
    st.caption(
        f"{len(hits)} entries{' (first ' + str(INDEX_LIMIT) + ')' if len(hits) == INDEX_LIMIT else ''}. "
        "A code ending in '-' must be completed in the tabular list."
    )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=320)
    codes = list(dict.fromkeys(t.target_code for t in hits if t.target_code))
    if codes:
        picked = st.selectbox(
            "Open a code from these entries",
            codes,
            key="browser_index_pick",
            format_func=lambda c: f"{c} — {kb.tabular.description(c)}",
            on_change=lambda: _go(st.session_state["browser_index_pick"]),
        )
        if st.session_state.get(CODE_KEY) is None:
            _go(picked)


@st.fragment(run_every=3)
def _dense_progress(retriever: HybridRetriever) -> None:
    """The dense index's build, redrawn every few seconds while it runs; the page searches again once it is ready."""
    status = retriever.dense_status()
    if status.state in ("building", "loading"):
        meter = status.meter
        st.progress((meter.fraction or 0.0) if meter else 0.0, text=status.describe())
        st.session_state["browser_dense_pending"] = True
    elif status.ready and st.session_state.pop("browser_dense_pending", False):
        st.rerun()  # the search above ran on the lexical half: run it again with both


def _retrieval_results(kb: KnowledgeBase, query: str, language: str) -> None:
    with st.spinner("Searching (the first search loads the lexical index)…"):
        retriever = kb.retriever(language)
        hits = retriever.search(query, k=RETRIEVAL_LIMIT)
    if retriever.dense_status().state in ("building", "loading"):
        _dense_progress(retriever)
    elif retriever.dense_status().state == "failed":
        st.caption(retriever.dense_status().describe())
    if not hits:
        st.caption("Nothing related found.")
        return
    rows = [{"code": h.code, "term": h.text, "source": h.source, "words #": h.lexical_rank, "meaning #": h.dense_rank}
            for h in hits]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=320)
    codes = list(dict.fromkeys(h.code for h in hits if kb.tabular.get(h.code) is not None))
    if codes:
        picked = st.selectbox(
            "Open a code from these terms",
            codes,
            key="browser_retrieval_pick",
            format_func=lambda c: f"{c} — {kb.tabular.description(c)}",
            on_change=lambda: _go(st.session_state["browser_retrieval_pick"]),
        )
        if st.session_state.get(CODE_KEY) is None:
            _go(picked)


def render_code_browser(kb: KnowledgeBase, language: str = "en") -> None:
    """``language``: the one words are also looked up in as dictionary terms ("hipertensión arterial" → I10)."""
    search_col, detail_col = st.columns([1, 1], gap="large")
    with search_col:
        mode = st.radio(
            "Search",
            MODES,
            key=MODE_KEY,
            horizontal=True,
            help=MODE_HELP,
            on_change=lambda: st.session_state.pop(CODE_KEY, None),
        )
        query = st.text_input(
            "Code or words",
            key=QUERY_KEY,
            placeholder="I50.9, heart failure, fracture femur neck …",
            on_change=lambda: st.session_state.pop(CODE_KEY, None),
        )
        if query.strip():
            if mode == "Tabular list":
                _tabular_results(kb, query, language)
            elif mode == "Alphabetical index":
                _index_results(kb, query)
            else:
                _retrieval_results(kb, query, language)
        else:
            st.caption("Chapters")
            for chapter in kb.tabular.chapters():
                st.button(
                    f"{chapter.code}. {chapter.description}",
                    key=f"chapter-{chapter.code}",
                    on_click=_go,
                    args=(chapter.code,),
                    type="tertiary",
                )
    with detail_col:
        code = st.session_state.get(CODE_KEY)
        if code:
            render_code_details(kb, code)
        else:
            st.caption("Search, or pick a chapter, to see a code's hierarchy and notes.")
