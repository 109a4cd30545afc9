"""The four "Code Like Humans" steps with a scripted backend over a small knowledge base (see conftest.mini_kb)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from core.llm.budget import EVIDENCE_CHUNK_CHARS as CHUNK_CHARS
from core.llm.calls import ParseError
from core.llm.fake import FakeBackend
from core.llm.prompts import template_version
from core.nlp.sentences import SentenceIndex
from core.schema import Mention, Span
from core.strategies.clh import run_clh
from core.strategies.clh.answers import parse_ids
from core.strategies.clh.context import CodeCandidate, StepContext
from core.strategies.clh.evidence import find_evidence, locate_snippet
from core.strategies.clh.navigator import navigate
from core.strategies.clh.reconciler import find_relations, reconcile
from core.strategies.clh.validator import complete_to_billable, subtree_options, validate

NOTE = (
    "A 67-year-old man with type 2 diabetes mellitus and hypertension was admitted with acute heart failure. "
    "He denies chest pain. Mild dyspnea on exertion."
)
MARKERS = {
    "evidence": "find what to code",
    "navigator": "alphabetic index",
    "validator": "against the tabular list",
    "reconciler": "final list",
}


def by_step(**answers: str | Callable[[str], str]) -> Callable[[str], str]:
    """A FakeBackend responder that answers per step (recognised by a phrase of its template)."""

    def respond(prompt: str) -> str:
        for step, marker in MARKERS.items():
            if marker in prompt and step in answers:
                answer = answers[step]
                return answer(prompt) if callable(answer) else answer
        return '{"snippets": []}' if MARKERS["evidence"] in prompt else "<answer>0</answer>"

    return respond


def term_of(prompt: str) -> str:
    return re.search(r"Term: <note>(.*?)</note>", prompt).group(1)


def option_id(prompt: str, code: str) -> int:
    return int(re.search(rf"ID: (\d+) \| {re.escape(code)} \|", prompt).group(1))


@pytest.fixture()
def context(mini_kb) -> Callable[..., StepContext]:
    def make(backend: FakeBackend, text: str = NOTE, **overrides: object) -> StepContext:
        settings = mini_kb.settings.with_overrides(backend="ollama", retries=2, **overrides)
        return StepContext(text, settings, mini_kb, backend)

    return make


def test_parse_ids_json_tags_none_and_errors() -> None:
    assert parse_ids('{"ids": [2, 1, 2]}', {0, 1, 2}) == [2, 1]
    assert parse_ids('{"ids": []}', {0, 1}) == []
    assert parse_ids("because ... <answer>0</answer>", {0, 1}) == []
    assert parse_ids("thinking <answer>3, 1", {0, 1, 3}) == [3, 1]  # cut by the stop sequence
    for bad in ('{"ids": [7]}', "<answer>7</answer>", '{"ids": [0, 1]}', "<answer>0, 1</answer>", "no tags here",
                '{"ids": "1"}'):
        with pytest.raises((ParseError, json.JSONDecodeError)):
            parse_ids(bad, {0, 1})


def test_locate_snippet_exact_fuzzy_and_missing() -> None:
    assert locate_snippet("Acute  HEART failure", NOTE) == (NOTE.index("acute heart"), NOTE.index(". He denies"))
    start, end = locate_snippet("mild dyspnoea on exertion", NOTE)
    assert NOTE[start:end].lower().startswith("mild dyspn") and end - start >= 20
    assert locate_snippet("pulmonary embolism", NOTE) is None
    assert locate_snippet("", NOTE) is None


def test_chunk_note_covers_text_in_bounded_pieces() -> None:
    text = ("Sentence number one is here. " * 200).strip()
    chunks = SentenceIndex(text, "en").chunks(CHUNK_CHARS)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(text)
    assert all(end - start <= CHUNK_CHARS for start, end in chunks)
    assert all(text[a[1]:b[0]].isspace() for a, b in zip(chunks, chunks[1:], strict=False))  # only spaces left out
    assert all(text[:end].endswith(".") for _, end in chunks[:-1])  # cut at sentence ends


def test_chunks_keep_abbreviations_and_decimals_inside_sentences() -> None:
    text = "Remitido por el Dr. Pérez con Hb 10.5 g/dl. Niega fiebre.\nAntecedentes: HTA"
    assert [text[a:b] for a, b in SentenceIndex(text, "es").chunks(20)] == [
        "Remitido por el Dr.", "Pérez con Hb 10.5", "g/dl. Niega fiebre.", "Antecedentes: HTA"]  # a long one is cut
    assert [text[a:b] for a, b in SentenceIndex(text, "es").chunks(60)] == [
        "Remitido por el Dr. Pérez con Hb 10.5 g/dl. Niega fiebre.", "Antecedentes: HTA"]


def test_evidence_locates_snippets_and_keeps_negated_out(context) -> None:
    answer = json.dumps({"snippets": ["Heart Failure", "mild dyspnoea on exertion", "pulmonary embolism", "the"]})
    ctx = context(FakeBackend(by_step(evidence=answer)))
    result = find_evidence(ctx)
    model = [m for m in result.mentions if m.source == "llm"]
    assert [m.span.text for m in model] == ["Mild dyspnea on exertion"]
    assert "pulmonary embolism" in result.dropped and any("pulmonary embolism" in n for n in result.trace.notes)
    chest = next(m for m in result.mentions if m.span.text == "chest pain")
    assert chest.assertion == "negated" and chest not in result.codable
    assert any("'chest pain' not coded: negated" in n for n in result.trace.notes)
    assert result.trace.prompt_template == "en/evidence.j2" and result.trace.prompt_version == template_version(result.trace.prompt_template)
    assert result.trace.fallback is None and result.trace.parsed["confirmed_dictionary_mentions"] == 1


def test_evidence_backend_down_uses_dictionary_mentions(context) -> None:
    ctx = context(FakeBackend(["unused"], fail_times=100))
    result = find_evidence(ctx)
    assert result.trace.fallback and "backend unavailable" in result.trace.fallback
    assert {m.source for m in result.mentions} == {"dictionary:learned"}
    assert {m.span.text for m in result.codable} == {"type 2 diabetes mellitus", "hypertension", "heart failure"}


def navigate_note(ctx: StepContext):
    evidence = find_evidence(ctx)
    return navigate(ctx, evidence.codable)


def test_navigator_valid_ids_choose_codes(context) -> None:
    def pick(prompt: str) -> str:
        term = term_of(prompt)
        if term == "heart failure":
            return f"acute is documented <answer>{option_id(prompt, 'I50.21')}</answer>"
        if term.startswith("Mild dysp"):
            return f"<answer>{option_id(prompt, 'R06.00')}</answer>"
        return "<answer>1</answer>"

    evidence = json.dumps({"snippets": ["mild dyspnoea on exertion"]})
    ctx = context(FakeBackend(by_step(evidence=evidence, navigator=pick)))
    result = navigate_note(ctx)
    by_code = {c.code: c for c in result.candidates}
    assert set(by_code) == {"E11.9", "I10", "I50.21", "R06.00"}
    assert by_code["I50.21"].origin == "navigator:retrieval" and by_code["E11.9"].origin == "navigator:dictionary"
    assert by_code["R06.00"].score == ctx.llm_only_score < ctx.settings.code_threshold  # model-only: needs confirming
    assert by_code["E11.9"].score == pytest.approx(0.8)
    assert result.trace.fallback is None and result.trace.prompt_version == template_version(result.trace.prompt_template)
    assert any(r["snippet"] == "heart failure" and any("I50.21" in o for o in r["options"])
               for r in result.trace.candidates)
    assert "acute is documented" in result.trace.rationale


def test_each_choosing_step_shows_the_deterministic_answer_and_traces_changes(context) -> None:
    """The model starts from the deterministic step's answer: the prompt names its IDs, the trace says whether the
    model kept it, and an answer that keeps it codes exactly what the deterministic path codes."""
    def keep_default(prompt: str) -> str:
        return re.search(r"(<answer>[\d, ]+</answer>)\. ", prompt).group(1)

    def change_heart_failure(prompt: str) -> str:
        if term_of(prompt) == "heart failure":
            return f"<answer>{option_id(prompt, 'I50.21')}</answer>"
        return keep_default(prompt)

    evidence = json.dumps({"snippets": []})
    kept = context(FakeBackend(by_step(evidence=evidence, navigator=keep_default, validator=keep_default,
                                       reconciler=keep_default)))
    result = run_clh(kept.text, kept.settings, kept.kb, kept.backend)
    fallback = run_clh(NOTE, kept.settings, kept.kb, FakeBackend(["x"], fail_times=1000))
    assert [c.code for c in result.codes] == [c.code for c in fallback.codes]
    navigator_prompt = next(c.prompt for c in kept.backend.calls if MARKERS["navigator"] in c.prompt
                            and term_of(c.prompt) == "heart failure")
    assert f"<answer>{option_id(navigator_prompt, 'I50')}</answer>. Keep it" in navigator_prompt
    for step in ("navigator", "validator", "reconciler"):
        trace = next(t for t in result.trace if t.step == step)
        assert all(record["changed"] is False and record["default"] for record in trace.parsed), step
        assert any(note.startswith("the model kept the deterministic answer in") for note in trace.notes), step

    changed = context(FakeBackend(by_step(evidence=evidence, navigator=change_heart_failure)))
    trace = navigate_note(changed).trace
    record = next(r for r in trace.parsed if r["label"] == "heart failure")
    assert record["changed"] is True and record["ids"] != record["default"]
    assert any("changed: heart failure:" in note for note in trace.notes)


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        (FakeBackend(["<answer>99</answer>"]), "unparseable answer after 3 attempts: invalid IDs [99]"),
        (FakeBackend(["It is heart failure."]), "no <answer>"),
        (FakeBackend(["x"], fail_times=1000), "backend unavailable"),
        (FakeBackend(["<answer>0</answer>"]), "chose none"),
    ],
)
def test_navigator_falls_back_to_dictionary_codes(context, backend: FakeBackend, reason: str) -> None:
    ctx = context(backend)
    result = navigate(ctx, find_evidence(ctx).codable)
    assert {c.code for c in result.candidates} == {"E11.9", "I10", "I50"}  # each term's best dictionary code
    assert result.trace.fallback and reason in result.trace.fallback
    assert "dictionary code of those terms stands" in result.trace.fallback
    if "invalid" in reason:
        navigator_calls = [c for c in backend.calls if MARKERS["navigator"] in c.prompt]
        assert len(navigator_calls) == 9  # three terms, three attempts each
        assert "Your previous answer could not be used" in navigator_calls[1].prompt


def test_navigator_keeps_review_hits_for_terms_without_dictionary_codes(context) -> None:
    evidence = json.dumps({"snippets": ["mild dyspnoea on exertion"]})
    ctx = context(FakeBackend(by_step(evidence=evidence)))  # navigator answers 0 (none)
    result = navigate_note(ctx)
    record = next(r for r in result.trace.candidates if r["snippet"].startswith("Mild"))
    assert record["chosen"] == [] and any("R06" in hit for hit in record["review_hits"])


def candidate(code: str, score: float, text: str = NOTE, phrase: str = "heart failure") -> CodeCandidate:
    start = text.index(phrase)
    mention = Mention(span=Span(start=start, end=start + len(phrase), text=phrase), source="test",
                      codes=[code], score=score)
    return CodeCandidate(code, score, [mention], origin="test", rationale="test")


def test_complete_to_billable(tabular) -> None:
    assert complete_to_billable("I50", tabular).code == "I50.9"
    assert complete_to_billable("I50", tabular, ["I50.21"]).code == "I50.21"  # learned code below it
    assert complete_to_billable("I50.2", tabular, ["I50.9"]).code == "I50.9"  # learned code in the category
    assert complete_to_billable("E11", tabular).code == "E11.9"
    assert complete_to_billable("S72.001", tabular).code == "S72.001A"
    assert complete_to_billable("I10", tabular).how == "billable"
    assert complete_to_billable("Z99", tabular).code is None
    assert complete_to_billable("X99.99", tabular).code is None


def test_subtree_options_lead_with_completion_and_rank_by_context(tabular) -> None:
    options = subtree_options("I50.9", tabular, first="I50.9", context="acute systolic heart failure")
    assert options[0] == "I50.9" and options[1] == "I50.21" and len(options) <= 12
    assert all(tabular.is_billable(c) for c in options)


def test_validator_completes_when_the_model_fails(context, tabular) -> None:
    ctx = context(FakeBackend(["garbage"]))
    result = validate(ctx, [candidate("I50", 0.8), candidate("Z99", 0.5)])
    assert [c.code for c in result.codes] == ["I50.9"]
    assert [c.code for c in result.review] == ["Z99"]
    assert result.trace.fallback and "deterministic completion" in result.trace.fallback
    # Unconfirmed by the model, a candidate below the code threshold (an instruction in the note can put one
    # there) stays for review, completed or not.
    weak = validate(ctx, [candidate("I50", 0.3)])
    assert weak.codes == [] and [c.code for c in weak.review] == ["I50.9"]
    assert "below the code threshold" in weak.review[0].rationale
    assert result.trace.prompt_template == "en/validator.j2"


def test_validator_applies_choice_and_none(context) -> None:
    def pick(prompt: str) -> str:  # one prompt per chapter
        none_for_r07 = re.search(r"ID: (\d+) \| - \| none \(R07.9\)", prompt)
        return f"<answer>{none_for_r07.group(1) if none_for_r07 else option_id(prompt, 'I50.21')}</answer>"

    ctx = context(FakeBackend(by_step(validator=pick)))
    result = validate(ctx, [candidate("I50.9", 0.8), candidate("R07.9", 0.8, phrase="chest pain")])
    assert [c.code for c in result.codes] == ["I50.21"] and [c.code for c in result.review] == ["R07.9"]
    assert "validator chose I50.21" in result.codes[0].rationale


@pytest.mark.parametrize("answer", ["<answer>1, 2, 3, 4, 5, 6, 7, 8, 9, 10</answer>", '{"ids": [5]}', "<answer>13</answer>"])
def test_validator_never_outputs_non_billable_codes(context, tabular, answer: str) -> None:
    ctx = context(FakeBackend([answer]))
    members = [candidate(code, 0.7) for code in ("I50", "E11", "S72.001", "Z99", "J45", "I10")]
    result = validate(ctx, members)
    assert result.codes and all(tabular.is_billable(c.code) for c in result.codes)


def test_reconciler_fallback_excludes1_threshold_and_code_first(context, tabular) -> None:
    ctx = context(FakeBackend(["not an answer"]))
    validated = [candidate("E11.9", 0.9), candidate("E10.9", 0.5), candidate("F02.80", 0.95),
                 candidate("G30.9", 0.6), candidate("R50.9", 0.2)]
    relations = find_relations([c.code for c in validated], tabular)
    assert any(r.kind == "excludes1" and {r.first, r.second} == {"E11.9", "E10.9"} for r in relations)
    assert any(r.kind == "code_first" and (r.first, r.second) == ("G30.9", "F02.80") for r in relations)
    result = reconcile(ctx, validated, [])
    assert [s.code for s in result.codes] == ["G30.9", "F02.80", "E11.9"]  # score order; G30.9 moved before F02.80
    reasons = {s.code: s.rationale for s in result.candidates}
    assert "Excludes1 with E11.9" in reasons["E10.9"] and "below the code threshold" in reasons["R50.9"]
    assert result.trace.fallback and "deterministic selection" in result.trace.fallback
    assert any("Excludes1" in note for note in result.trace.notes)


def test_reconciler_follows_the_model_and_still_applies_rules(context) -> None:
    ctx = context(FakeBackend(["<answer>2, 3, 1, 4</answer>"]))  # IDs follow score order: E11.9 I10 E10.9 R50.9
    validated = [candidate("E11.9", 0.9), candidate("E10.9", 0.5), candidate("R50.9", 0.2), candidate("I10", 0.8)]
    result = reconcile(ctx, validated, [candidate("Z99", 0.3)])
    assert [s.code for s in result.codes] == ["I10", "E11.9", "R50.9"]  # model order; E10.9 lost the Excludes1 pair
    assert {s.code: s.status for s in result.candidates} == {"E10.9": "candidate", "Z99": "candidate"}
    assert result.trace.fallback is None and result.trace.raw_answer
    prompt = ctx.backend.calls[0].prompt
    assert "Excludes1" in prompt and "ID: 1 | E11.9 |" in prompt and "ID: 4 | R50.9 |" in prompt


def test_reconciler_selection_subset_moves_rest_to_candidates(context) -> None:
    ctx = context(FakeBackend(['{"ids": [2]}']))
    result = reconcile(ctx, [candidate("E11.9", 0.9), candidate("I10", 0.8)], [])
    assert [s.code for s in result.codes] == ["I10"]
    assert result.candidates[0].code == "E11.9" and "not selected by the reconciler" in result.candidates[0].rationale


def test_run_clh_end_to_end(context, mini_kb, tabular) -> None:
    backend = FakeBackend(by_step(
        evidence=json.dumps({"snippets": ["acute heart failure"]}),
        navigator="<answer>1</answer>",
        validator=lambda p: "<answer>" + ", ".join(re.findall(r"ID: (\d+) \| (?:E11.9|I10|I50.9) \|", p)) + "</answer>",
        reconciler="<answer>1, 2, 3</answer>",
    ))
    steps: list[str] = []
    settings = mini_kb.settings.with_overrides(backend="ollama")
    result = run_clh(NOTE, settings, mini_kb, backend, progress=lambda step, message: steps.append(step))
    assert steps == ["evidence", "navigator", "validator", "reconciler"]
    assert [t.step for t in result.trace] == steps
    assert all(t.prompt_version == template_version(t.prompt_template) and t.prompt_template for t in result.trace)
    assert {s.code for s in result.codes} == {"E11.9", "I10", "I50.9"}
    assert all(tabular.is_billable(s.code) for s in result.codes)
    assert all(s.evidence for s in result.codes)
    assert "R07.9" in {s.code for s in result.candidates}  # negated: kept for review by the backstop
    assert result.strategy == "clh" and result.model == "fake-model"


def test_json_id_answers_get_room_for_every_id_they_may_hold(context) -> None:
    """A schema-constrained answer listing 30 IDs must not be cut off by the token budget (it was at 48 tokens)."""
    from core.llm.prompts import render_prompt
    from core.strategies.clh.answers import Option, choose_ids

    backend = FakeBackend(['{"ids": [1, 2, 3]}'])
    backend.structured_answers = True
    ctx = context(backend)
    options = [Option(i, "I10", "Hypertension") for i in range(1, 31)]
    prompt = render_prompt("rag", "en", note=NOTE, candidates=[o.prompt_dict() for o in options], structured=True)
    choice = choose_ids(ctx, prompt, {o.id for o in options}, max_items=30)
    assert choice.ids == [1, 2, 3]
    assert backend.calls[0].json_schema is not None and backend.calls[0].max_tokens >= 4 * 30


def test_snippet_schema_rejects_the_format_placeholder() -> None:
    """A small model copied '...' from the answer format; the grammar now makes each snippet start with a word."""
    from core.strategies.clh.evidence import SNIPPETS_SCHEMA

    pattern = SNIPPETS_SCHEMA["properties"]["snippets"]["items"]["pattern"]
    assert re.fullmatch(pattern, "dolor torácico") and re.fullmatch(pattern, "Type 2 diabetes")
    assert not any(re.fullmatch(pattern, s) for s in ("...", "…", " fever", 'a"b', "ab", "x" * 81))
