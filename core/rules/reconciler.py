"""The reconciler: the classification's conventions applied to a strategy's codes, last in every coding run.

The rules run in a fixed order over one :class:`~core.rules.worklist.Worklist` (status codes the note states; one
condition one code; history and family history; uncertain diagnoses in outpatient notes; the index's combinations;
manifestation codes; the index's etiology / manifestation pairs, "due to" / postprocedural subterms and the subterms
that refine a residual code (core/rules/etiology.py); the most specific code again after them; neoplasms through
the Neoplasm Table and pressure ulcers with site and stage; use additional and
the items a note names; integral symptoms; injury sites through the index; the encounter character; the external
cause of a coded injury; Excludes1), then the codes are put in sequence. A code a rule absorbs is never output as a
code: it stays a candidate whose rationale names the code that absorbed it, and the trace lists every change with
its rule.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from core.candidates.linker import DictionaryLinker
from core.kb.tabular import Tabular
from core.nlp.analysis import NoteAnalysis
from core.nlp.laterality import sided_code
from core.rules.adverse_effects import adverse_effects, is_poisoning, poisonings
from core.rules.assessed_symptoms import symptoms_outside_the_assessment
from core.rules.conventions import (
    absorb_subterms,
    combinations,
    contradicted,
    encounter,
    excludes1,
    manifestations,
    one_code_per_condition,
    specific_over_unspecified,
    use_additional,
    validate_terms,
)
from core.rules.diabetes import diabetes_type, foot_ulcer, kidney_once
from core.rules.digits import named_digits
from core.rules.etiology import (
    due_to_subterms,
    etiology_manifestation,
    named_additional,
    named_manifestations,
    residual_subterms,
)
from core.rules.external_cause import external_causes
from core.rules.generic_words import generic_words
from core.rules.history import (
    current_malignancy,
    dated_events,
    history_and_family,
    insulin_with_type_1,
    integral_symptoms,
    resolved_conditions,
    sepsis,
    sequelae,
    status_codes,
    uncertain,
)
from core.rules.infarction import angina_of_the_infarction, antiplatelets_of_the_infarction, subsequent_infarction
from core.rules.injury import injury_sites, unspecified_injuries, with_seventh
from core.rules.lymphoma import leukemia_phase, lymphoma_site
from core.rules.neoplasm import neoplasms
from core.rules.pain import unlocated_pain
from core.rules.partners import (
    monitoring_that_found_a_problem,
    treatment_of_a_current_malignancy,
    unpartnered_status,
)
from core.rules.pathological_fracture import pathological_fractures
from core.rules.pregnancy import pregnancy
from core.rules.pressure_ulcer import pressure_ulcers
from core.rules.readings import readings
from core.rules.removed_conditions import removed_conditions
from core.rules.routine_exam import (
    cancer_surveillance,
    follow_up_after_treatment,
    joint_replacement_aftercare,
    planned_removal,
    preprocedural_exam,
    routine_exam,
)
from core.rules.scores import nihss
from core.rules.sibling_words import named_siblings
from core.rules.sides import dominance, laterality
from core.rules.specificity import (
    asthma_severity_and_flare,
    bleeding_lesion,
    dementia_disturbance,
    dementia_of_known_cause,
    dementia_severity,
    fever_the_notes_name,
    obstructed_hernia,
    one_condition,
    one_epilepsy,
    one_hypertensive_disease,
    prostate_with_symptoms,
    unstated_kinds,
    vague_of_the_block,
    vaguer_of_two,
)
from core.rules.stated import stated_diagnoses
from core.rules.stroke import cerebral_embolism, stroke_deficits, stroke_vessel
from core.rules.substance_use import alcohol_taken_with_a_drug, substance_use
from core.rules.underdosing import underdosing
from core.rules.worklist import STEP, Entry, Worklist, covers, references
from core.schema import CodeSuggestion, CodingResult, StepTrace

if TYPE_CHECKING:
    from core.kb.knowledge import KnowledgeBase

CODES_PER_TERM = 3


def winning_codes(
    analysis: NoteAnalysis, linker: DictionaryLinker, tabular: Tabular,
) -> dict[tuple[int, int], list[str]]:
    """For the words of each match that won them, the billable codes its term names, best first (a category-level
    code completed to its unspecified child, with the side the note names: E11.329 + "both eyes" → E11.3293; a code
    that needs only its 7th character, "angioedema" T78.3, gets the initial encounter's, which the encounter rule
    corrects)."""
    found: dict[tuple[int, int], list[str]] = {}
    for match in sorted(analysis.mentions, key=lambda m: not m.expanded):  # "ATN": acute tubular necrosis, N17.0,
        # before the I96 of its one word "necrosis"
        if match.key not in linker.rules:
            continue
        codes = found.setdefault((match.start, match.end), [])
        for code, _, _ in linker.scored_codes(match.key)[:CODES_PER_TERM]:
            options = [code]
            if match.side:
                options.insert(0, sided_code(code, match.side, tabular) or code)
            for option in options:
                option = option if tabular.is_billable(option) else (
                    tabular.unspecified_code(option, match.side) if match.side else tabular.default_code(option)
                    or _without_child(option, tabular) or with_seventh(option, "A", tabular))
                if option and option not in codes:
                    codes.append(option)
    return found


def _without_child(code: str, tabular: Tabular) -> str:
    """The child a bare term means when none is unspecified: the one "without" the complication the others name
    (G43.00 → G43.009 "... without status migrainosus"; a leukemia not said to be in remission or relapse)."""
    item = tabular.get(code)
    children = [c for c in (item.children if item else []) if tabular.is_billable(c)]
    return next((c for c in children if " without " in f" {tabular.description(c).lower()} "
                 or "not having achieved remission" in tabular.description(c)), "")  # "AML" C92.0 → C92.00


def contradictions(work: Worklist) -> None:
    """After the rules that rewrite codes (type, side): a code "without" what another coded code of its category
    says the condition is with gives way (E10.3592 "... without macular edema, left eye" beside E10.3512)."""
    for entry in list(work.coded()):
        denied = [o for o in work.coded() if o is not entry and contradicted(entry.code, o.code, work)]
        if denied and entry.coded:
            work.absorb(entry.code, denied[0].code, "one condition, one code",
                        f"{denied[0].code} says the condition is with what {entry.code} says it is without")


def reconcile(
    result: CodingResult, analysis: NoteAnalysis, linker: DictionaryLinker, kb: KnowledgeBase, policy: str = "coding",
) -> tuple[CodingResult, list[str]]:
    """``result`` with the conventions applied, and the warnings a coder should read (Excludes1 conflicts)."""
    started = time.perf_counter()
    work = Worklist.of(result.codes, result.candidates, analysis, kb.tabular, policy)
    winning = winning_codes(analysis, linker, kb.tabular)
    navigator = kb.navigator
    warnings: list[str] = []
    before = [s.code for s in result.codes]
    validate_terms(work, linker)
    generic_words(work, linker)
    readings(work)
    status_codes(work)
    specific_over_unspecified(work, winning)
    one_code_per_condition(work, winning)
    stated_diagnoses(work, linker, winning)
    absorb_subterms(work, winning)
    history_and_family(work, navigator, winning)
    removed_conditions(work)
    resolved_conditions(work, navigator)
    dated_events(work)
    uncertain(work)
    combinations(work, navigator, winning)
    manifestations(work)
    etiology_manifestation(work, navigator)
    due_to_subterms(work, navigator)
    residual_subterms(work, navigator)
    named_manifestations(work)
    diabetes_type(work)
    insulin_with_type_1(work)
    kidney_once(work)
    specific_over_unspecified(work, winning)
    neoplasms(work, kb.index)
    lymphoma_site(work)
    leukemia_phase(work, winning)
    current_malignancy(work)
    pressure_ulcers(work, kb.index)
    foot_ulcer(work)
    use_additional(work)
    named_additional(work)
    sepsis(work)
    substance_use(work)
    integral_symptoms(work)  # first: a symptom of a coded condition complicates no pregnancy
    pregnancy(work)
    absorb_subterms(work, winning)
    integral_symptoms(work)
    injury_sites(work, navigator.index if navigator is not None else None)
    unspecified_injuries(work)
    pathological_fractures(work)
    pregnancy(work)  # again: the injuries the injury rules coded complicate a pregnancy (O9A.2)
    integral_symptoms(work)  # again: the burns and fractures the injury rules coded
    unlocated_pain(work)
    named_siblings(work)
    stroke_deficits(work)
    laterality(work)
    dominance(work)
    cerebral_embolism(work)
    stroke_vessel(work)
    named_digits(work)
    contradictions(work)
    one_condition(work)
    one_hypertensive_disease(work)
    fever_the_notes_name(work)
    vague_of_the_block(work)
    vaguer_of_two(work)
    unstated_kinds(work)
    obstructed_hernia(work)
    bleeding_lesion(work)
    one_epilepsy(work)
    integral_symptoms(work)  # again: the melena of the bleeding lesion
    dementia_severity(work)
    dementia_disturbance(work)
    dementia_of_known_cause(work)
    asthma_severity_and_flare(work)
    prostate_with_symptoms(work)
    sequelae(work)
    integral_symptoms(work)  # again: the sequelae just coded (the spasticity of a hemiplegia's side)
    adverse_effects(work, navigator.index if navigator is not None else None)
    poisonings(work, navigator.index if navigator is not None else None)
    alcohol_taken_with_a_drug(work)
    underdosing(work, navigator.index if navigator is not None else None)
    encounter(work)
    routine_exam(work)
    preprocedural_exam(work)
    joint_replacement_aftercare(work)
    planned_removal(work)
    cancer_surveillance(work)
    follow_up_after_treatment(work)
    external_causes(work, navigator.index if navigator is not None else None)
    nihss(work)
    unpartnered_status(work)
    treatment_of_a_current_malignancy(work)
    monitoring_that_found_a_problem(work)
    subsequent_infarction(work)
    angina_of_the_infarction(work)
    antiplatelets_of_the_infarction(work)
    symptoms_outside_the_assessment(work)
    excludes1(work, warnings, winning)
    codes = sequence(work)
    coded = {s.code for s in codes}
    candidates = [e.suggestion for e in work.entries.values() if e.suggestion.code not in coded]
    trace = StepTrace(
        step=STEP,
        inputs={"codes_in": before, "policy": policy, "index_navigation": navigator is not None},
        candidates=work.log,
        output_codes=[s.code for s in codes],
        rationale="the classification's conventions: one condition one code, the index's combinations, history and "
                  "status codes, instructional notes, integral symptoms, injury sites, the encounter character, "
                  "external causes, Excludes1",
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        notes=warnings,
    )
    reconciled = result.model_copy(deep=False)
    reconciled.codes = codes
    reconciled.candidates = candidates
    reconciled.trace = [*result.trace, trace]
    return reconciled, warnings


def _class(code: str) -> int:
    """Sequence classes: the systemic infection (I.C.1.d) or the reason for an encounter (I.C.21.c.8, I.C.2.e.2)
    first, external causes after the injuries (I.C.20)."""
    if code.startswith(("A40", "A41", "Z00.0", "Z08", "Z51.0", "Z51.1")):  # and the encounter's own reason
        return 0
    if is_poisoning(code):  # a poisoning before its manifestations (I.C.19.e.5.b)
        return 0
    if code[0] in "VWXY":
        return 2
    return 1


def sequence(work: Worklist) -> list[CodeSuggestion]:
    """The final codes: the strategy's order, a derived code where the first code it absorbed stood, the systemic
    infection first and external causes after the injuries, an etiology before its manifestation."""
    position: dict[str, float] = {code: float(i) for i, code in enumerate(work.order)}
    for entry in work.entries.values():
        if entry.code in position:
            continue
        absorbed = [position[e.code] for e in work.entries.values() if e.absorbed_by == entry.code and e.code in position]
        position[entry.code] = min(absorbed) - 0.5 if absorbed else len(position) + 0.0
    coded: list[Entry] = sorted(work.coded(), key=lambda e: (_class(e.code), position[e.code]))
    codes = [e.code for e in coded]
    for entry in list(coded):  # code first: the etiology the manifestation's note names goes before it
        firsts = references(work.tabular.inherited_notes(entry.code).code_first)
        for other in coded:
            if other is not entry and any(covers(ref, other.code) for ref in firsts):
                i, j = codes.index(entry.code), codes.index(other.code)
                if j > i:
                    codes.insert(i, codes.pop(j))
    return [work.entries[code].suggestion for code in codes]
