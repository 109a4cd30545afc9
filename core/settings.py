"""One settings object for the whole app, read from a TOML file and ``CODER_*`` env vars.

Precedence (lowest to highest): built-in defaults, ``coder.toml`` in the project root
(or the file named by ``CODER_CONFIG``), environment variables, explicit overrides.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "CODER_"

BACKENDS = ("none", "embedded", "ollama", "openai")
ASSERTION_POLICIES = ("coding", "codiesp")  # the product's policy; CodiEsp's annotation convention
STRATEGIES = ("clh", "deterministic", "rag", "hierarchical", "classifier-validator", "dictionary-llm", "ranker")
LANGUAGES = ("en", "es")


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "clinical-coder"


def _default_state_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "clinical-coder"


@dataclass(frozen=True)
class Settings:
    # Where read-only reference data lives (CodiEsp, CMS index files). Never written to.
    data_dir: Path = field(default_factory=lambda: PROJECT_ROOT.parent / "shared" / "data")
    # Built indexes, embeddings, models: safe to delete, rebuilt on demand.
    cache_dir: Path = field(default_factory=_default_cache_dir)
    # The decision store and other state a coder would not want to lose.
    state_dir: Path = field(default_factory=_default_state_dir)
    db_url: str = ""  # empty: sqlite file under state_dir

    language: str = "en"
    strategy: str = "clh"
    # "none": the instant path (evidence, index, rules, ranker), the default. A language model (an Ollama or
    # OpenAI-compatible server, or the embedded 270M model) is used only when chosen here: the CLI and the workers
    # then code with it, and the app offers it as "Refine with the language model" (docs/llm-refinement.md).
    backend: str = "none"

    # LLM backends
    model: str = ""  # backend-specific default when empty
    ollama_host: str = "http://127.0.0.1:11434"
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_api_key: str = "not-needed"
    temperature: float = 0.0
    num_ctx: int = 4096
    max_tokens: int = 512
    timeout_s: float = 120.0
    retries: int = 2
    threads: int = 1

    # Retrieval
    embedding_model: str = "e5-small-multilingual"  # chosen by recall on CodiEsp-X spans (bench/retrieval.py)
    retrieval_k: int = 10

    # Optional user-provided resources (absolute, or relative to data_dir)
    index_csv: str = "icd10cm-2025-index/ICD10CM_2025_Index.csv"
    index_xml: str = ""  # official icd10cm_index_YYYY.xml, when a user has it
    neoplasm_xml: str = "icd10cm-2025-index/icd-10-cm-neoplasm-2025.xml"
    drug_xml: str = "icd10cm-2025-index/icd-10-cm-drug-2025.xml"
    eindex_xml: str = "icd10cm-2025-index/icd-10-cm-eindex-2025.xml"
    codiesp_dir: str = "codiesp"
    guidelines_pdf: str = ""  # official ICD-10-CM guidelines PDF, when a user has it
    cie10es_file: str = ""  # official CIE-10-ES code list (tsv/csv: code, description)

    # Dictionary / deterministic path
    code_threshold: float = 0.4  # calibrated score at or above which a link becomes a code
    candidate_threshold: float = 0.15  # below code_threshold but at least this: a candidate for review
    # "coding": negated / family / hypothetical mentions are never coded (they are shown for review).
    # "codiesp": CodiEsp annotators also coded many negated findings; use only to mimic that gold standard.
    assertion_policy: str = "coding"
    dictionary_splits: str = ""  # CodiEsp splits the dictionary learns from; empty: every labelled split found
    # The supervised ranker decides the codes it has evidence for in every other strategy's result (open-set codes
    # keep the strategy's decision); off: the strategy's own decisions only. Needs coded notes to train on.
    ranker_merge: bool = True
    # The classification's conventions applied last (one condition one code, the index's combinations, history and
    # status codes, instructional notes); off only to measure what they change.
    reconciler: bool = True

    learn_from_decisions: bool = True
    coder_name: str = ""  # with sign-in off only (no account exists): the name typed in the sidebar

    # Sign-in (docs/access.md): a signed-in session ends after this many minutes without a click.
    session_idle_minutes: int = 30
    # The provider of Streamlit's st.login (OIDC, configured in .streamlit/secrets.toml [auth]): "default" for a
    # single provider in [auth], or the name of an [auth.NAME] section; empty: username and password only.
    oidc_provider: str = ""

    def resolve(self, relative: str) -> Path | None:
        """Resolve an optional resource path; None when unset."""
        if not relative:
            return None
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.data_dir / path

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.state_dir / 'decisions.sqlite'}"

    def with_overrides(self, **overrides: Any) -> Settings:
        clean = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **_coerce(clean))

    def public_dict(self) -> dict[str, Any]:
        """Settings as JSON-safe values, with the API key masked (stored with every run)."""
        data = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}
        data["openai_api_key"] = "***" if self.openai_api_key else ""
        return data


# Settings that decide a coding result: a stored run reopened in the app, or an evaluation run resumed, takes its
# own values of these.
RESULT_SETTINGS = ("language", "strategy", "backend", "model", "embedding_model", "assertion_policy", "ranker_merge",
                   "reconciler",
                   "code_threshold", "candidate_threshold", "temperature", "num_ctx", "max_tokens")
_RANGES = {  # numbers outside these make a backend hang, fail obscurely or code nothing
    "max_tokens": (1, 32768), "num_ctx": (128, 131072), "threads": (1, 1024), "timeout_s": (0.1, 86400),
    "retries": (0, 10), "retrieval_k": (1, 1000), "code_threshold": (0, 1), "candidate_threshold": (0, 1),
    "temperature": (0, 2), "session_idle_minutes": (1, 1440),
}
_ALLOWED = {"backend": BACKENDS, "language": LANGUAGES, "strategy": STRATEGIES, "assertion_policy": ASSERTION_POLICIES}


def with_run_settings(settings: Settings, recorded: Mapping[str, Any]) -> tuple[Settings, list[str]]:
    """``settings`` with a stored run's values of RESULT_SETTINGS (paths and addresses stay this machine's), and
    the names of recorded values this version cannot use (left as they are in ``settings``)."""
    unusable = []
    for name in RESULT_SETTINGS:
        if name not in recorded:
            continue
        try:
            candidate = _validated(settings.with_overrides(**{name: recorded[name]}))
        except (TypeError, ValueError):
            unusable.append(name)
            continue
        settings = candidate
    return settings, unusable


def _coerce(values: dict[str, Any]) -> dict[str, Any]:
    types = {f.name: f.type for f in fields(Settings)}
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in types:
            raise ValueError(f"unknown setting {name!r}")
        kind = str(types[name])
        if "Path" in kind:
            out[name] = Path(str(value)).expanduser()
        elif kind == "bool":
            out[name] = value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes", "on"}
        elif kind in ("int", "float"):
            try:
                out[name] = int(value) if kind == "int" else float(value)
            except (TypeError, ValueError):
                raise ValueError(f"setting {name} must be a{'n integer' if kind == 'int' else ' number'}, "
                                 f"got {value!r}") from None
        else:
            out[name] = str(value)
    return out


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {}
    path = config_file or Path(os.environ.get(f"{ENV_PREFIX}CONFIG", PROJECT_ROOT / "coder.toml"))
    if path.is_file():
        with path.open("rb") as handle:
            values.update(tomllib.load(handle).get("coder", {}))
    names = {f.name for f in fields(Settings)}
    for name in names:
        env = os.environ.get(ENV_PREFIX + name.upper())
        if env is not None:
            values[name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    return _validated(Settings(**_coerce(values)))


def _validated(settings: Settings) -> Settings:
    """``settings`` if every choice is one this version knows and every number is in range, else ValueError."""
    for name, allowed in _ALLOWED.items():
        if getattr(settings, name) not in allowed:
            raise ValueError(f"{name} must be one of {allowed}, got {getattr(settings, name)!r}")
    for name, (low, high) in _RANGES.items():
        value = getattr(settings, name)
        if not low <= value <= high:
            raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return settings
