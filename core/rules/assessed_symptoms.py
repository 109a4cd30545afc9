"""A symptom the provider's assessment leaves out, when the assessment concludes a diagnosis: a coder codes the
diagnosis the provider reached and not the complaints that led to it (I.B.4, I.B.5, I.C.18.a-b). "HPI: 3 days of
fatigue and dysuria ... A: UTI due to E. coli" is N39.0 + B96.20, without R53.83. A symptom the assessment names
stays coded ("A: UTI; fatigue, likely deconditioning")."""

from __future__ import annotations

from core.rules.underdosing import is_underdosing
from core.rules.worklist import Worklist, covers, references

RULE = "symptom not assessed"
# Chapter 18 codes that are no complaint: sepsis and SIRS (R65), the coma and stroke scales (R40.2, R29.7), blood
# alcohol (R78.0), the abnormal findings of tests (R7x, R8x, R9x); and the neurological deficits coded beside their
# cause (dysphagia, aphasia and other speech disturbances, neglect, facial weakness, gait).
_KEPT = ("R65", "R40.2", "R29.7", "R7", "R8", "R9", "R13", "R47", "R48", "R49", "R41.4", "R29.81", "R26")


def symptoms_outside_the_assessment(work: Worklist) -> None:
    analysis = work.analysis
    if not any(section.kind == "assessment" for section in analysis.sections):
        return

    def assessed(spans: list[tuple[int, int]]) -> bool:
        return any(analysis.section_at(start).kind == "assessment" for start, _ in spans)

    if any(m.assertion == "possible" and analysis.section_at(m.start).kind == "assessment" for m in analysis.mentions):
        return  # "A: suspected CAP": with the diagnosis uncertain, the symptoms are what is coded (I.C.18.a)
    coded = work.coded()
    if any("T36" <= e.code[:3] <= "T65" and not is_underdosing(e.code) for e in coded):
        return  # a poisoning's or an adverse effect's manifestations are coded beside it (I.C.19.e.5)
    concluded = [e for e in coded if e.code[0] not in "RZVWXY" and e.spans and assessed(e.spans)]
    if not concluded:
        return
    asked = [ref for e in coded for ref in references(work.tabular.inherited_notes(e.code).use_additional)]
    for entry in coded:
        if entry.code.startswith("R") and not entry.code.startswith(_KEPT) and entry.spans and \
                not assessed(entry.spans) and not any(covers(ref, entry.code) for ref in asked):  # BPH with LUTS
            work.demote(entry.code, RULE, f"the assessment concludes {concluded[0].code} and does not list this "
                        "symptom")
