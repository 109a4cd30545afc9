"""Underdosing (I.C.19.e.5.c): a prescribed drug the patient took less of than prescribed or stopped on their own
("ran out of amlodipine and cannot afford it", "olvida tomar la furosemida") gets the Table of Drugs' "Underdosing"
code (T36-T50 with 6), after the condition that relapsed, and the noncompliance code that says why: Z91.12-
intentional (Z91.120 for financial hardship), Z91.13- unintentional. A dialysis the patient skipped is Z91.15-.
A drug the clinician stopped or held is no underdosing, so "stopped" counts only with the patient's reason."""

from __future__ import annotations

import re

from core.kb.index import AlphabeticIndex
from core.rules.adverse_effects import DRUG_CHAPTER, DrugCues, adverse_effect_code, drug_cues, drug_encounter
from core.rules.injury import with_seventh
from core.rules.worklist import Worklist
from core.schema import Span

RULE = "underdosing"
UNDERDOSING = "Underdosing"  # the Table of Drugs column

_ARTICLE = r"(?:(?:his|her|their|the|all|home|daily|prescribed|el|la|los|las|su|sus|tratamiento con)\s+)*"
# Words that say the patient took less, the drug named right after them.
_TOOK_LESS = {
    "en": re.compile(r"\b(?:ran out of|running out of|rationing|rationed|skipp(?:ed|ing)|missed (?:\w+ )?doses? of|"
                     r"missing doses of|forg[eo]t(?:s|ten)?(?: to take)?|self[- ]discontinued|non-?complian(?:t|ce) "
                     r"with|non-?adheren(?:t|ce) (?:to|with)|under-?dosing of|(?:has|had|did)(?: not|n't) "
                     r"(?:refill(?:ed)?|take|taken))\s+" + _ARTICLE, re.IGNORECASE),
    "es": re.compile(r"\b(?:dej[oó] de tomar|ha dejado de tomar|abandon[oó]|ha abandonado|olvida(?:ba)?|olvid[oó]|"
                     r"infradosificaci[oó]n (?:\w+ )?(?:\w+ )?de|incumplimiento (?:terap[eé]utico )?(?:de|con)|"
                     r"mal cumplimiento (?:de|con)|se (?:le )?(?:acab[oó]|termin[oó]))\s+"
                     r"(?:(?:con frecuencia|a veces|tomar)\s+)*" + _ARTICLE, re.IGNORECASE),
}
# "Stopped carbamazepine 10 days ago - could not afford the refill": stopping, or not taking, is the patient's
# underdosing only with the patient's reason; otherwise the clinician stopped it, or it was never prescribed.
_STOPPED = {"en": re.compile(r"\b(?:stopped(?: taking)?|quit(?: taking)?|discontinued|not (?:been )?taking|"
                             r"(?:has|had|have)n'?t (?:been )?taking)\s+" + _ARTICLE, re.IGNORECASE),
            "es": re.compile(r"\b(?:suspendi[oó]|retir[oó]|no (?:se )?(?:toma|tomaba|ha tomado))\s+"
                             r"(?:por su cuenta\s+)?" + _ARTICLE, re.IGNORECASE)}
_FINANCIAL = re.compile(r"\b(?:afford\w*|cost|costs|expensive|financial\w*|insurance|money|copay\w*|econ[oó]mic\w*|"
                        r"dinero|pagar)\b", re.IGNORECASE)
_UNINTENDED = re.compile(r"\b(?:forg[eo]t\w*|unintentional\w*|confus\w*|misunderst\w*|memory|by mistake|olvid\w*|"
                         r"no intencionad\w*|involuntari\w*|error)\b", re.IGNORECASE)
_OWN_CHOICE = re.compile(r"\b(?:on (?:his|her|their) own|felt (?:normal|better|fine|well)|did ?n[o']t (?:like|want)|"
                         r"decided|chose|refus\w*|side effects?|por (?:su|decisi[oó]n) propia|por su cuenta|"
                         r"decidi[oó]|se encontraba bien|intencionad\w*|intentional\w*)\b", re.IGNORECASE)
_NEGATED_BEFORE = re.compile(r"\b(?:no|not|denies|without|sin|niega)\b[\w ,()-]{0,25}$", re.IGNORECASE)
_DIALYSIS = {"en": re.compile(r"\b(?:skipped|missed|no[- ]show(?:ed)? (?:to|for))\s+(?:[\w+]+\s+){0,4}?"
                              r"(?:hd|hemodialysis|dialysis|sessions?|runs?)\b", re.IGNORECASE),
             "es": re.compile(r"\b(?:no acudi[oó] a|falt[oó] a|perdi[oó])\s+(?:\w+\s+){0,3}?"
                              r"(?:sesi[oó]n|sesiones|hemodi[aá]lisis|di[aá]lisis)\b", re.IGNORECASE)}


_UNDERDOSING_CODE = re.compile(r"T(?:3[6-9]|4\d|50)\.(?:\w6|\w\w6)")  # the intent character 6


def is_underdosing(code: str) -> bool:
    """An underdosing code: the condition that relapsed is what is coded beside it, not its symptoms."""
    return bool(_UNDERDOSING_CODE.match(code))


def _stated(pattern: re.Pattern[str], text: str) -> bool:
    """A reason the note gives, not one it denies ("no por motivos económicos"); "could not afford" states one."""
    return any(m.group().lower().startswith(("afford", "pagar"))
               or not _NEGATED_BEFORE.search(text, max(0, m.start() - 30), m.start()) for m in pattern.finditer(text))


_PRONOUN = re.compile(r"(?:it|them|the (?:med\w*|pills|tablets))\b", re.IGNORECASE)


def _drug_at(words: str, index: AlphabeticIndex, cues: DrugCues) -> tuple[str, str] | None:
    """The drug named by the first one to three words ("furosemide most mornings", "insulin glargine/lispro")."""
    names = re.findall(r"[^\W\d_][\w-]*", words[:40])[:3]
    if not names or not words.lstrip().startswith(names[0]):
        return None
    return next((found for n in range(len(names), 0, -1)
                 if (found := adverse_effect_code(" ".join(names[:n]), index, cues, UNDERDOSING))), None)


def _drug_before(words: str, index: AlphabeticIndex, cues: DrugCues) -> tuple[str, str] | None:
    """The last drug named in ``words``, the sentence before a pronoun that stands for it."""
    found = None
    for word in re.finditer(r"[^\W\d_][\w-]{3,}", words):
        found = adverse_effect_code(words[word.start():], index, cues, UNDERDOSING) or found
    return found


def _reason_code(context: str) -> str:
    """Z91.12-/Z91.13-: the reason the note gives for the drug not taken."""
    if _stated(_FINANCIAL, context):
        return "Z91.120"
    if _stated(_UNINTENDED, context):
        return "Z91.138"
    return "Z91.128"


def underdosing(work: Worklist, index: AlphabeticIndex | None) -> None:
    """A drug the patient took less of gets its underdosing code and the noncompliance code with its reason."""
    language = work.analysis.language
    cues, took_less, stopped = drug_cues(language), _TOOK_LESS.get(language), _STOPPED.get(language)
    if index is None or cues is None or took_less is None or stopped is None:
        return
    text, sentences = work.analysis.text, work.analysis.sentences
    seventh = drug_encounter(text)
    found_any = False
    marks = [(m, False) for m in took_less.finditer(text)] + [(m, True) for m in stopped.finditer(text)]
    for mark, by_stopping in sorted(marks, key=lambda pair: pair[0].start()):
        if _NEGATED_BEFORE.search(text, max(0, mark.start() - 20), mark.start()):
            continue
        left, right = sentences.sentence_bounds(mark.start(), mark.end())
        context = text[left : sentences.sentence_bounds(right, right + 1)[1] if right < len(text) else right]
        if by_stopping and not any(_stated(p, context) for p in (_OWN_CHOICE, _FINANCIAL, _UNINTENDED)):
            continue  # "HCTZ was stopped", "stopped metformin for the AKI": the clinician's decision
        found = _drug_at(text[mark.end() : mark.end() + 60], index, cues)
        if found is None and _PRONOUN.match(text, mark.end()):  # "on phenytoin - stopped taking it 10 d ago"
            found = _drug_before(text[left : mark.start()], index, cues)
        if found is None or not DRUG_CHAPTER.match(found[0]):
            continue
        code = with_seventh(found[0], seventh, work.tabular)
        if not code:
            continue
        name = re.match(r"[\w-]*", text[mark.end():])
        end = mark.end() + (name.end() if name else 0)
        evidence = [Span(start=mark.start(), end=end, text=text[mark.start():end])]
        work.add(code, evidence, RULE, f"Table of Drugs > {found[1]} > {UNDERDOSING} → {found[0]}: "
                 f"{work.tabular.description(code)} (I.C.19.e.5.c)", 0.5, "index-navigator")
        reason = _reason_code(context)
        _code_reason(work, reason, evidence)
        found_any = True
    if not found_any:
        _skipped_dialysis(work)


def _code_reason(work: Worklist, reason: str, evidence: list[Span]) -> None:
    work.add(reason, evidence, RULE, f"the patient's noncompliance: {work.tabular.description(reason)}", 0.5,
             "index-navigator")
    for entry in work.coded():
        if entry.code.startswith(("Z91.12", "Z91.13", "Z91.14")) and entry.code != reason:
            work.absorb(entry.code, reason, RULE, f"{reason} states the reason the note gives")


def _skipped_dialysis(work: Worklist) -> None:
    """A dialysis session the patient skipped: Z91.15-, financial hardship only when the note says so."""
    pattern = _DIALYSIS.get(work.analysis.language)
    text = work.analysis.text
    if pattern is None or not any(e.code == "Z99.2" or e.code.startswith("N18.6") for e in work.coded()):
        return
    mark = next(pattern.finditer(text), None)
    if mark is None:
        return
    left, right = work.analysis.sentences.sentence_bounds(mark.start(), mark.end())
    reason = "Z91.151" if _stated(_FINANCIAL, text[left:right]) else "Z91.158"
    evidence = [Span(start=mark.start(), end=mark.end(), text=mark.group())]
    work.add(reason, evidence, RULE, f"the patient's noncompliance: {work.tabular.description(reason)}", 0.5,
             "index-navigator")
