"""The sidebar shared by every page: coder name, pipeline settings, backend, and the resources loaded.

The sidebar is rendered by ``app.py`` on every run (it is the frame around all pages), so its widget values
persist while the coder moves between pages. Pages read the result through :func:`current_settings` and
:func:`coder_name`.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.auth import current_identity, may
from core.kb.knowledge import KnowledgeBase, get_knowledge
from core.llm import BackendError, default_model
from core.settings import BACKENDS, LANGUAGES, STRATEGIES, Settings, load_settings
from core.store import DecisionStore, StoreUnavailable

CODER_KEY = "coder_name"
LANGUAGE_KEY = "cfg_language"
STRATEGY_KEY = "cfg_strategy"
LEARN_KEY = "cfg_learn_from_decisions"
MERGE_KEY = "cfg_ranker_merge"
BACKEND_KEY = "cfg_backend"
OLLAMA_HOST_KEY = "cfg_ollama_host"
OPENAI_URL_KEY = "cfg_openai_base_url"

LANGUAGE_LABELS = {"en": "English (ICD-10-CM)", "es": "Spanish (CIE-10-ES)"}
BACKEND_LABELS = {
    "none": "None: the instant path only",
    "embedded": "Embedded model (llama.cpp, on this machine)",
    "ollama": "Ollama server",
    "openai": "OpenAI-compatible server (local)",
}
STRATEGY_HELP = (
    "How codes are found. 'deterministic' uses the dictionary and rules only; the others add an LLM and fall "
    "back to the deterministic path when the model fails. With backend 'none' every strategy runs deterministic. "
    "'ranker' scores the dictionary's candidates with the model trained on coded charts; with the merge toggle on, "
    "that model also decides, in every other strategy, the codes it has evidence for."
)
MODEL_LIST_TIMEOUT_S = 3.0


def _model_key(backend: str) -> str:
    """One model choice per backend, so switching backend does not carry an Ollama tag into llama.cpp."""
    return f"cfg_model_{backend}"


def base_settings() -> Settings:
    """Defaults from ``coder.toml`` and ``CODER_*`` variables (read every run: cheap, and tests change them)."""
    return load_settings()


def coder_name() -> str:
    """The signed-in account; with sign-in off, the name typed in the sidebar."""
    identity = current_identity()
    return identity.name if identity is not None else str(st.session_state.get(CODER_KEY) or "").strip()


def current_settings() -> Settings:
    """Settings with the sidebar choices applied (the defaults before the sidebar has been drawn)."""
    settings = base_settings()
    overrides: dict[str, Any] = {
        "language": st.session_state.get(LANGUAGE_KEY),
        "strategy": st.session_state.get(STRATEGY_KEY),
        "backend": st.session_state.get(BACKEND_KEY),
        "ollama_host": st.session_state.get(OLLAMA_HOST_KEY),
        "openai_base_url": st.session_state.get(OPENAI_URL_KEY),
        "coder_name": coder_name() or None,
        "learn_from_decisions": st.session_state.get(LEARN_KEY),
        "ranker_merge": st.session_state.get(MERGE_KEY),
    }
    model_key = _model_key(overrides["backend"] or settings.backend)
    if model_key in st.session_state:
        overrides["model"] = st.session_state[model_key] or ""
    return settings.with_overrides(**overrides)


def open_store(settings: Settings) -> DecisionStore:
    """The decision store, or a clear error and the end of this page (nothing in the store is touched)."""
    try:
        return DecisionStore(settings.database_url)
    except StoreUnavailable as exc:
        st.error(f"The decision store is unavailable: {exc}.", icon="🚫")
        st.stop()
        raise  # st.stop() raises; this line only tells type checkers the function never falls through


@st.cache_resource(show_spinner=False)
def _knowledge_cached(settings: Settings) -> KnowledgeBase:
    return get_knowledge(settings)


def knowledge(settings: Settings) -> KnowledgeBase:
    """The knowledge base for these settings, loaded once per process (the first load takes a while)."""
    with st.spinner("Loading the code sets and the alphabetical index (first time only)…"):
        kb = _knowledge_cached(settings)
        _ = kb.tabular  # load here, under the spinner, not in the middle of a page
    return kb


@st.cache_data(ttl=30, show_spinner=False)
def _server_models(kind: str, address: str, api_key: str) -> tuple[list[str], str]:
    """Models a server lists, or an error message; cached briefly so reruns do not hit the server."""
    try:
        if kind == "ollama":
            from core.llm.ollama_backend import list_models

            return list_models(address, timeout=MODEL_LIST_TIMEOUT_S), ""
        from core.llm.openai_backend import list_models as list_openai_models

        return list_openai_models(address, api_key=api_key, timeout=MODEL_LIST_TIMEOUT_S), ""
    except BackendError as exc:
        return [], str(exc)
    except Exception as exc:  # noqa: BLE001 - any client failure is shown, never raised into the page
        return [], f"Could not list the models of {address}: {exc}"


def _model_picker(kind: str, address: str, settings: Settings) -> None:
    model_key = _model_key(kind)
    models, error = _server_models(kind, address, settings.openai_api_key)
    if error:
        st.error(error, icon="🔌")
    current = st.session_state.get(model_key) or settings.model or default_model(kind)
    if models:
        options = models if current in models or not current else [current, *models]
        if st.session_state.get(model_key) not in options:
            st.session_state[model_key] = current if current in options else options[0]
        st.selectbox("Model", options, key=model_key, help="Models the server has available.")
        if current and current not in models:
            how = f"pull it (`ollama pull {current}`)" if kind == "ollama" else "load it on the server"
            st.warning(f"{current} is not on the server: {how} or pick another model.")
    else:
        st.session_state.setdefault(model_key, current)
        st.text_input("Model", key=model_key, help="The server did not list its models; type the model name.")
    if st.button("Refresh model list", key=f"refresh_models_{kind}"):
        _server_models.clear()
        st.rerun()


def _backend_options(settings: Settings) -> None:
    backend = st.session_state[BACKEND_KEY]
    if backend == "ollama":
        st.session_state.setdefault(OLLAMA_HOST_KEY, settings.ollama_host)
        st.text_input("Ollama host", key=OLLAMA_HOST_KEY, help="Usually http://127.0.0.1:11434 (`ollama serve`).")
        _model_picker("ollama", st.session_state[OLLAMA_HOST_KEY], settings)
    elif backend == "openai":
        st.session_state.setdefault(OPENAI_URL_KEY, settings.openai_base_url)
        st.text_input(
            "Server URL",
            key=OPENAI_URL_KEY,
            help="A local OpenAI-compatible server, e.g. llama.cpp's `python -m llama_cpp.server` "
            "(http://127.0.0.1:8080/v1). The API key, if any, comes from CODER_OPENAI_API_KEY.",
        )
        _model_picker("openai", st.session_state[OPENAI_URL_KEY], settings)
    elif backend == "embedded":
        st.session_state.setdefault(_model_key("embedded"), settings.model)
        st.text_input(
            "Model file",
            key=_model_key("embedded"),
            placeholder=default_model("embedded"),
            help="A GGUF file name in the model cache, or a full path; empty uses the bundled Gemma 3 270M "
            "(small: it exercises the pipeline, it is not a source of quality).",
        )
    else:
        st.caption("No language model: the evidence, the index, the rules and the ranker propose codes.")


def _resources(settings: Settings) -> None:
    try:
        kb = knowledge(settings)
        infos = kb.resources()
        notices = kb.notices()
    except Exception as exc:  # noqa: BLE001 - a broken resource must not take the sidebar down
        st.error(f"Could not load the coding resources: {exc}")
        return
    with st.expander("Resources loaded", expanded=False):
        for info in infos:
            if info.loaded:
                details = " · ".join(x for x in (info.edition, f"{info.items:,} items" if info.items else "") if x)
                st.markdown(f"✅ **{info.name}**" + (f" — {details}" if details else ""))
                if info.source:
                    st.caption(info.source)
            else:
                st.markdown(f"⚠️ **{info.name}** — not loaded")
    for notice in notices:
        st.warning(notice, icon="⚠️")


def _pipeline_choices(settings: Settings) -> None:
    if not may("settings"):
        return
    st.selectbox("Strategy", STRATEGIES, key=STRATEGY_KEY, help=STRATEGY_HELP)
    st.selectbox("Backend", BACKENDS, key=BACKEND_KEY, format_func=lambda x: BACKEND_LABELS.get(x, x),
                 help="“Code this note” is always instant (evidence, index, rules, ranker). A language model chosen "
                 "here refines a result when you press “Refine with the language model”, in the background.")
    _backend_options(settings)
    # The defaults go in as the widgets' own values, not through st.session_state: a toggle whose first run was cut
    # short (the coder typing their name while the page loads) otherwise came back with its widget default, off.
    st.toggle("Learn from coders' decisions", key=LEARN_KEY, value=settings.learn_from_decisions,
              help="Evidence spans coders accepted or added are used as dictionary terms for later notes.")
    st.toggle("Merge with the supervised ranker", key=MERGE_KEY, value=settings.ranker_merge,
              help="The ranker trained on coded charts decides the codes it has evidence for in the chosen "
              "strategy's result; codes it never scored keep the strategy's decision. Not used by the "
              "'deterministic' and 'ranker' strategies.")


def render_sidebar() -> Settings:
    """Draw the sidebar and return the settings it selects."""
    settings = base_settings()
    st.session_state.setdefault(CODER_KEY, settings.coder_name)
    st.session_state.setdefault(LANGUAGE_KEY, settings.language)
    st.session_state.setdefault(STRATEGY_KEY, settings.strategy if settings.strategy in STRATEGIES else STRATEGIES[0])
    st.session_state.setdefault(BACKEND_KEY, settings.backend)
    with st.sidebar:
        if current_identity() is None:  # sign-in off: the coder types their name (recorded as unverified)
            st.text_input(
                "Coder name",
                key=CODER_KEY,
                placeholder="required before recording decisions",
                help="Recorded with every decision and submission (audit trail). Entered once per session.",
            )
            if not coder_name():
                st.caption("Enter your name to accept, reject or add codes.")
        st.subheader("Pipeline")
        st.selectbox("Language", LANGUAGES, key=LANGUAGE_KEY, format_func=lambda x: LANGUAGE_LABELS.get(x, x))
        if not may("settings"):  # strategy, backend and server addresses: an admin's choice (coder.toml)
            st.caption(f"Strategy {settings.strategy} · backend {settings.backend}: set by an administrator.")
        _pipeline_choices(settings)
        chosen = current_settings()
        st.subheader("Resources")
        _resources(chosen)
        st.caption("Offline: notes and decisions stay on this machine.")
    return chosen
