"""Psychoactive substance use (F10-F19 but nicotine): one code per substance at the highest degree the note documents
(I.C.5.b.2: dependence over abuse over use), with the withdrawal the note states ("Dependence, alcohol, with,
withdrawal" F10.23-: delirium 1, perceptual disturbance 2, uncomplicated 0, otherwise 9)."""

from __future__ import annotations

import re

from core.kb.tabular import Tabular
from core.nlp.textnorm import strip_accents
from core.rules.worklist import Entry, Worklist, affirmed, denied_at

_CATEGORIES = ("F10", "F11", "F12", "F13", "F14", "F15", "F16", "F18", "F19")
# Words that tie a withdrawal to its substance (the scales name theirs: CIWA for alcohol, COWS for opioids).
_SUBSTANCE = {
    "F10": r"alcohol\w*|etoh|ethanol|enol\w*|etilic\w*|ciwa\w*|dts|delirium tremens",
    "F11": r"opioid\w*|opiate\w*|heroin\w*|fentanyl\w*|oxycodon\w*|morphin\w*|metadon\w*|methadon\w*|cows",
    "F12": r"cannabi\w*|marijuana|thc",
    "F13": r"benzodiazepin\w*|benzodiacepin\w*|sedative\w*|hypnotic\w*|lorazepam|alprazolam|diazepam",
    "F14": r"cocain\w*",
    "F15": r"amphetamin\w*|methamphetamin\w*|anfetamin\w*|stimulant\w*",
}
_WITHDRAWAL = re.compile(r"\b(?:withdrawal|w/d|abstinencia|dts|delirium tremens)\b")
_DELIRIUM = re.compile(r"\b(?:delirium|dts|delirio)\b")
_PERCEPTUAL = re.compile(r"\b(?:hallucinat\w*|alucinacion\w*)")
_UNCOMPLICATED = re.compile(r"\b(?:uncomplicated|no complicad[oa]|sin complicaciones)\b")
_DEGREE = {"2": 3, "1": 2, "9": 1}  # dependence, abuse, use


def _denied(pattern: re.Pattern[str], folded: str) -> bool:
    return any(denied_at(folded, m.start()) for m in pattern.finditer(folded))


def _withdrawal_of(category: str, folded: str, substances: int) -> list[re.Match[str]]:
    """Withdrawal mentions of ``category``'s substance: its word in the same sentence, or the only substance coded."""
    words = re.compile(rf"\b(?:{_SUBSTANCE.get(category, '$^')})\b")
    found = []
    for match in _WITHDRAWAL.finditer(folded):
        if denied_at(folded, match.start()):
            continue
        left = max(folded.rfind(mark, 0, match.start()) for mark in ".\n") + 1
        right = min((i for i in (folded.find(mark, match.end()) for mark in ".\n") if i >= 0), default=len(folded))
        if words.search(folded, left, right) or substances == 1:
            found.append(match)
    return found


def _withdrawal_code(category: str, degree: str, folded: str, tabular: Tabular) -> str:
    five = f"{category}.{degree}3"
    if tabular.is_billable(five):
        return five
    if affirmed(_DELIRIUM, folded):
        sixth = "1"
    elif affirmed(_PERCEPTUAL, folded):
        sixth = "2"
    elif _UNCOMPLICATED.search(folded) or _denied(_DELIRIUM, folded) or _denied(_PERCEPTUAL, folded):
        sixth = "0"  # "No seizures, no hallucinations, no DTs": an uncomplicated withdrawal
    else:
        sixth = "9"
    return f"{five}{sixth}" if tabular.is_billable(f"{five}{sixth}") else ""


# DSM-5's severity of a use disorder, read as the classification's degree: mild is abuse (F1x.1-), moderate or
# severe is dependence (F1x.2-); "in (sustained) remission" is the degree's remission code (F1x.11, F1x.21).
_USE_DISORDER = re.compile(r"\b(?:use (?:d/o|disorder)|trastorno por (?:uso|consumo) de (?:\w+\s*){1,2})[,\s(-]+(?:\w+[,\s]+)?"
                           r"(mild|moderate|severe|leve|moderad[oa]|grave)\b|\b(mild|moderate|severe)\s+(?:\w+\s+){1,2}"
                           r"use (?:d/o|disorder)\b", re.IGNORECASE)
_REMISSION = re.compile(r"\b(?:in (?:early |sustained |full )?remission|en remisi[oó]n|remisi[oó]n (?:sostenida|temprana|"
                        r"completa))", re.IGNORECASE)


def _stated_degree(work: Worklist) -> None:
    """"Cannabis use d/o, mild" is F12.10, not the use code F12.90; "alcohol use disorder, severe, in withdrawal"
    is dependence; "dependencia de cocaína ... (remisión sostenida)" is F14.21."""
    text, sentences = work.analysis.text, work.analysis.sentences
    lowered = text.lower()
    for entry in list(work.coded()):
        if not entry.code.startswith(_CATEGORIES) or len(entry.code) < 6 or not entry.spans:
            continue
        bounds = [sentences.sentence_bounds(a, b) for a, b in entry.spans]
        substance = re.compile(rf"\b(?:{_SUBSTANCE.get(entry.code[:3], '$^')})", re.IGNORECASE)
        severity = next((m.group(1) or m.group(2) for left, right in [*bounds, (0, len(text))]
                         for m in _USE_DISORDER.finditer(text, left, right)
                         if substance.search(strip_accents(text[max(0, m.start() - 30):m.end()]))), None)
        code = entry.code
        if severity is not None and code[4] in "129":
            degree = "1" if severity.lower() in ("mild", "leve") else "2"
            code = f"{code[:4]}{degree}{code[5:]}"
        remission = any(not denied_at(lowered, m.start()) for left, right in bounds
                        for m in _REMISSION.finditer(text, left, right))
        if remission and code[4] in "12" and code[5:] == "0":
            code = f"{code[:5]}1"
        if code != entry.code and work.tabular.is_billable(code):
            work.add(code, list(entry.suggestion.evidence), "substance use",
                     f"the degree the note states: {work.tabular.description(code)}", entry.suggestion.score,
                     entry.suggestion.source)
            work.absorb(entry.code, code, "substance use", f"the note states the degree: {code}")


def substance_use(work: Worklist) -> None:
    """Per substance: the highest degree absorbs the lower ones, and a stated withdrawal is the degree's "with
    withdrawal" code, which absorbs the plain one."""
    _unstated_induced_disorder(work)
    _stated_degree(work)
    coded = [e for e in work.coded() if e.code.startswith(_CATEGORIES) and len(e.code) > 4]
    by_category: dict[str, list[Entry]] = {}
    for entry in coded:
        by_category.setdefault(entry.code[:3], []).append(entry)
    folded = strip_accents(work.analysis.text.lower())
    for category, entries in by_category.items():
        top = max(entries, key=lambda e: _DEGREE.get(e.code[4], 0))
        degree = top.code[4]
        if degree not in _DEGREE:
            continue
        for entry in entries:  # dependence absorbs the abuse and the use of the same substance
            if _DEGREE.get(entry.code[4], 0) < _DEGREE[degree]:
                work.absorb(entry.code, top.code, "one condition, one code",
                            "the note documents a higher degree of use of the same substance (I.C.5.b.2)")
        same = [e for e in entries if e.code[4] == degree and e.coded]
        withdrawal = next((e for e in same if e.code[5:6] == "3"), None)
        mentions = _withdrawal_of(category, folded, len(by_category))
        code = _withdrawal_code(category, degree, folded, work.tabular) if mentions else ""
        if withdrawal is not None and code and withdrawal.code.endswith("39") and code != withdrawal.code:
            work.absorb(withdrawal.code, code, "one condition, one code", f"the note says which withdrawal: {code}")
            withdrawal = None
        if withdrawal is None and code:
            said = work.analysis.text[mentions[0].start():mentions[0].end()]
            withdrawal = work.add(code, [*top.suggestion.evidence], "with", f"{work.tabular.description(top.code)} "
                                  f"with the withdrawal the note states ('{said}') → {code}", top.suggestion.score,
                                  "index-navigator")
        complicated = next((e for e in same if e.code[5:6] not in ("", "0", "1")), None)  # F10.220 intoxication
        for entry in same:  # "alcohol dependence" F10.20 beside "... with intoxication" F10.220: one condition
            if complicated is not None and entry.code[5:] == "0":
                work.absorb(entry.code, complicated.code, "one condition, one code",
                            f"{complicated.code} names the {work.tabular.description(entry.code).lower()} with what "
                            "it caused")
        if withdrawal is None:
            continue
        for entry in same:  # the plain degree code ("dependence, uncomplicated") is the same condition
            if entry is not withdrawal and entry.code[5:] in ("0", "9", "39", "30") and entry.code[5:] != \
                    withdrawal.code[5:]:
                work.absorb(entry.code, withdrawal.code, "one condition, one code",
                            f"{withdrawal.code} names the {work.tabular.description(entry.code).lower()} with its "
                            "withdrawal")


_INDUCED = re.compile(r"induced|inducid|related|relacionad|due to (?:alcohol|etoh|drugs?|cannabis|opioids?|cocaine)|"
                      r"secundari[oa] (?:al|a) (?:alcohol|consumo)", re.IGNORECASE)


def _unstated_induced_disorder(work: Worklist) -> None:
    """A ".x9" code ("with unspecified alcohol-induced disorder") needs a disorder the note says the substance
    induced; else the plain code of the same degree stands ("alcohol dependence" is F10.20)."""
    if _INDUCED.search(work.analysis.text):
        return
    for entry in list(work.coded()):
        title = work.tabular.description(entry.code).lower()
        plain = entry.code[:5] + "0"
        if entry.code.startswith(_CATEGORIES) and "with unspecified" in title and "induced" in title and \
                plain in work.entries and work.tabular.is_billable(plain):
            work.demote(entry.code, "substance use", "the note names no disorder the substance induced")
            work.promote(plain, "substance use", "the degree of use the note states, with nothing it induced")


_DISORDER_STATED = re.compile(r"\b(?:abuse|dependen\w*|use disorder|alcoholi[cs]\w*|aud\b|etoh abuse|abuso|"
                              r"trastorno por (?:uso|consumo)|alcoholismo)", re.IGNORECASE)


def alcohol_taken_with_a_drug(work: Worklist) -> None:
    """Alcohol taken with a drug and coded as a poisoning by ethanol (T51.0X-) is that poisoning; an alcohol abuse
    or use code beside it needs the note to state the disorder ("no h/o alcohol use disorder" states none). An
    alcohol intoxication with no complication named is the "uncomplicated" code (F10.120, not F10.129)."""
    text = work.analysis.text
    coded = work.coded()
    if any(e.code.startswith("T51.0") for e in coded) and not any(work.stated(_DISORDER_STATED)):
        for entry in coded:
            if entry.code.startswith(("F10.1", "F10.9")):
                work.demote(entry.code, "poisoning", "alcohol taken with a drug is coded as the poisoning by ethanol")
    for entry in work.coded():
        plain = entry.code[:-1] + "0"
        if re.fullmatch(r"F1\d\.[129]29", entry.code) and work.tabular.is_billable(plain) and not re.search(
                r"delirium|delirio|perceptual|hallucinat|alucinaci|psychosis|psicosis", text, re.IGNORECASE):
            work.add(plain, list(entry.suggestion.evidence), "specificity", f"an intoxication with no complication "
                     f"named: {work.tabular.description(plain)}", entry.suggestion.score, "tabular-list")
            work.absorb(entry.code, plain, "one condition, one code", "no complication of the intoxication is named")
