"""Refinement by a language model, after the instant result: a background job and "what changed".

The instant path (evidence, index navigation, rules, the ranker; backend ``none``) codes a note in well under a
second and is what a coder sees first. When a language model is configured (an Ollama or OpenAI-compatible server,
or the embedded model chosen explicitly), :class:`RefineJob` codes the same note again with the chosen strategy and
that model, in a thread of its own: it reports each step, can be cancelled (at the next step or model call) and never
touches the decision store. :func:`compare_results` lists what the refinement changed, for the coder to adopt it or
keep the instant result. Nothing here imports Streamlit; ``components/refine_panel.py`` draws it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from core.llm.base import LLMBackend, LLMResponse
from core.schema import CodeSuggestion, CodingResult, StepTrace
from core.settings import Settings
from core.strategies.registry import available_backend, get_strategy
from core.strategies.runner import code_note

if TYPE_CHECKING:
    from core.kb.knowledge import KnowledgeBase
    from core.ranking.registry import RankerSource

JobState = Literal["running", "cancelling", "done", "cancelled", "failed"]
Status = Literal["code", "candidate", ""]


class RefinementCancelled(BaseException):  # noqa: N818 - like KeyboardInterrupt: it must pass the steps' fallbacks
    """Raised inside the refinement's thread at the first step boundary or model call after a cancel.

    A BaseException, so the strategies' ``except Exception`` fallbacks (a failing step codes with the dictionary)
    let it through: a cancelled refinement ends, it does not turn into a deterministic result."""


def instant_settings(settings: Settings) -> Settings:
    """The settings of the instant path: the same strategy, thresholds and policy, no language model."""
    return settings if settings.backend == "none" else settings.with_overrides(backend="none")


def why_not_refinable(settings: Settings) -> str:
    """Empty when ``settings`` can refine a note; else why not, in words for the coder."""
    strategy = get_strategy(settings.strategy)
    if strategy is None or not strategy.needs_llm:
        return (f"strategy {settings.strategy} does not use a language model (clh, rag, hierarchical, "
                "classifier-validator and dictionary-llm do)")
    if settings.backend == "none":
        return "no language model is configured (backend none)"
    return ""


class _Cancellable(LLMBackend):
    """A backend that checks for a cancel before every call (the call in flight finishes; the next one does not
    start)."""

    def __init__(self, inner: LLMBackend, cancelled: threading.Event) -> None:
        self.inner = inner
        self.cancelled = cancelled
        self.name = inner.name
        self.model = inner.model
        self.supports_concurrency = inner.supports_concurrency

    @property
    def failure(self) -> tuple[float, str] | None:  # type: ignore[override]
        return self.inner.failure

    @failure.setter
    def failure(self, value: tuple[float, str] | None) -> None:
        self.inner.failure = value

    def __getattr__(self, name: str) -> Any:  # optional attributes (structured_answers) are the inner backend's
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def complete(self, prompt: str, **kwargs: Any) -> LLMResponse:  # type: ignore[override]
        if self.cancelled.is_set():
            raise RefinementCancelled()
        return self.inner.complete(prompt, **kwargs)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def check(self) -> tuple[bool, str]:
        return self.inner.check()

    def close(self) -> None:
        self.inner.close()


@dataclass
class StepEvent:
    seconds: float  # since the job started
    step: str
    message: str


@dataclass
class RefineJob:
    """One refinement of one stored run: started once, read by the page while it runs, never restarted.

    ``backend`` overrides the configured one (tests inject a scripted model); otherwise the configured backend
    must answer its availability check first, or the job fails with the reason and the instant result stands."""

    run_id: int  # the instant run it refines
    text: str
    settings: Settings  # with the backend that refines
    kb: KnowledgeBase
    learned_terms: list[dict] | None = None
    backend: LLMBackend | None = None
    rankers: RankerSource | None = None
    clock: Callable[[], float] = time.monotonic
    state: JobState = "running"
    events: list[StepEvent] = field(default_factory=list)
    result: CodingResult | None = None
    error: str = ""
    started: float = 0.0
    ended: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> RefineJob:
        self.started = self.clock()
        self._thread = threading.Thread(target=self._run, name=f"refine-run-{self.run_id}", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the job to stop at the next step boundary or model call (a call already in flight finishes)."""
        with self._lock:
            if self.state == "running":
                self.state = "cancelling"
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the job has ended (tests, the CLI); the page polls :attr:`finished` instead."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.finished

    @property
    def finished(self) -> bool:
        return self.state in ("done", "cancelled", "failed")

    @property
    def elapsed(self) -> float:
        return (self.ended if self.ended is not None else self.clock()) - self.started

    def snapshot(self) -> list[StepEvent]:
        with self._lock:
            return list(self.events)

    def _progress(self, step: str, message: str, done: float | None = None, total: float | None = None) -> None:
        if self._cancel.is_set():
            raise RefinementCancelled()
        with self._lock:
            self.events.append(StepEvent(round(self.clock() - self.started, 2), step, message))

    def _finish(self, state: JobState, result: CodingResult | None = None, error: str = "") -> None:
        with self._lock:
            self.result, self.error, self.state, self.ended = result, error, state, self.clock()

    def _run(self) -> None:
        try:
            backend = self.backend
            if backend is None:
                self._progress("backend", f"checking the {self.settings.backend} backend")
                backend, reason = available_backend(self.settings)
                if backend is None:
                    self._finish("failed", error=f"The language model is not available: {reason}.")
                    return
            result = code_note(self.text, self.settings, learned_terms=self.learned_terms, progress=self._progress,
                               kb=self.kb, rankers=self.rankers, backend=_Cancellable(backend, self._cancel))
            if self._cancel.is_set():  # cancelled during the last step: the coder asked for no result
                raise RefinementCancelled()
            result.trace.insert(0, StepTrace(step="refine", notes=[
                f"refinement of run #{self.run_id} (the instant result) with {self.settings.backend}"
                + (f" {result.model}" if result.model else "") + f" in {self.elapsed:.1f} s",
            ]))
            self._finish("done", result)
        except RefinementCancelled:
            self._finish("cancelled")
        except Exception as exc:  # noqa: BLE001 - the coder keeps the instant result and reads why
            self._finish("failed", error=f"The refinement failed ({type(exc).__name__}: {exc}).")


# -- what changed ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CodeChange:
    code: str
    description: str
    before: Status  # "code", "candidate", or "" (not proposed)
    after: Status
    rationale_before: str = ""
    rationale_after: str = ""
    step_after: str = ""  # the step that last changed it in the refined result

    @property
    def kind(self) -> str:
        """added / removed (a code, from or to nothing), promoted / demoted (between code and candidate),
        new candidate / dropped candidate."""
        return {("", "code"): "added", ("code", ""): "removed", ("candidate", "code"): "promoted",
                ("code", "candidate"): "demoted", ("", "candidate"): "new candidate",
                ("candidate", ""): "dropped candidate"}[(self.before, self.after)]


KIND_ORDER = ("added", "removed", "promoted", "demoted", "new candidate", "dropped candidate")


def _statuses(result: CodingResult) -> dict[str, tuple[Status, CodeSuggestion]]:
    out: dict[str, tuple[Status, CodeSuggestion]] = {}
    for status, items in (("code", result.codes), ("candidate", result.candidates)):
        for item in items:
            out.setdefault(item.code, (status, item))  # a code listed as both counts as coded
    return out


def compare_results(before: CodingResult, after: CodingResult) -> list[CodeChange]:
    """Every code whose status differs between the two results, codes added and removed first."""
    old, new = _statuses(before), _statuses(after)
    changes = []
    for code in dict.fromkeys([*old, *new]):
        (was, old_item), (now, new_item) = old.get(code, ("", None)), new.get(code, ("", None))
        if was == now:
            continue
        item = new_item or old_item
        changes.append(CodeChange(
            code=code, description=item.description if item else "", before=was, after=now,
            rationale_before=old_item.rationale if old_item else "",
            rationale_after=new_item.rationale if new_item else "", step_after=new_item.step if new_item else "",
        ))
    return sorted(changes, key=lambda c: KIND_ORDER.index(c.kind))


def unchanged_codes(before: CodingResult, after: CodingResult) -> list[str]:
    """Codes coded in both results."""
    coded = {s.code for s in after.codes}
    return [s.code for s in before.codes if s.code in coded]


def fallback_steps(result: CodingResult) -> list[StepTrace]:
    """The steps where the model's answer was not used (the deterministic path stood in)."""
    return [step for step in result.trace if step.fallback]
