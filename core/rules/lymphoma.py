"""A lymphoma's site (C81-C85, 5th character): the node regions the note names, "multiple sites" for two or more or a
stage from II up (two regions or more by definition), "in remission" (FY2025 ``A``) when its sentence says so.
A leukemia's phase (C91-C95, 5th character): not having achieved remission, in remission, or in relapse."""

from __future__ import annotations

import re

from core.rules.worklist import Worklist, affirmed

_LYMPHOMAS = ("C81", "C82", "C83", "C84", "C85")
_REGIONS = {
    "en": {"1": r"cervical|neck|supraclavicular|submandibular|occipital|preauricular",
           "2": r"mediastin\w*|hilar|intrathoracic|paratracheal",
           "3": r"retroperitoneal|mesenteric|para-?aortic|intra-?abdominal|abdominal|portal|celiac",
           "4": r"axillary|axilla|epitrochlear",
           "5": r"inguinal|femoral|popliteal",
           "6": r"pelvic|iliac|intrapelvic",
           "7": r"splenic|spleen"},
    "es": {"1": r"cervical\w*|supraclavicular\w*|submandibular\w*|laterocervical\w*",
           "2": r"mediast[ií]nic\w*|hiliar\w*|intrator[aá]cic\w*|paratraqueal\w*",
           "3": r"retroperitoneal\w*|mesent[eé]ric\w*|para-?a[oó]rtic\w*|abdominal\w*",
           "4": r"axilar\w*",
           "5": r"inguinal\w*|femoral\w*",
           "6": r"p[eé]lvic\w*|il[ií]ac\w*",
           "7": r"espl[eé]nic\w*|bazo"},
}
_NODES = {"en": re.compile(r"\b(?:nodes?|nodal|adenopathy|lymphadenopathy|LAD|LN)\b", re.IGNORECASE),
          "es": re.compile(r"\b(?:gangli\w+|adenopat[ií]\w+|adenomegal\w+)\b", re.IGNORECASE)}
_STAGE = re.compile(r"\b(?:stage|estadio|ann arbor)\s+(?:II|III|IV)(?:[ABEX]|\b)", re.IGNORECASE)
_REMISSION = {"en": re.compile(r"\b(?:in (?:complete )?remission|in CR\d?)\b"),
              "es": re.compile(r"\ben remisi[oó]n\b|\bremisi[oó]n completa\b", re.IGNORECASE)}


def lymphoma_site(work: Worklist) -> None:
    """A lymphoma coded at an unspecified site gives way to the site the note names."""
    language = work.analysis.language
    text = work.analysis.text
    for entry in list(work.coded()):
        code = entry.code
        if not code.startswith(_LYMPHOMAS) or not code.endswith("0") or len(code) != 6:
            continue
        sentences = [text[slice(*work.analysis.sentences.sentence_bounds(a, b))] for a, b in entry.spans]
        staged = any(_STAGE.search(sentence) for sentence in sentences)
        remission = any(affirmed(_REMISSION[language], sentence) for sentence in sentences)
        digit = "A" if remission else _site(text, language, staged)
        sited = code[:-1] + digit if digit else ""
        if not sited or not work.tabular.is_billable(sited):
            continue
        why = "in remission" if digit == "A" else work.tabular.description(sited).rsplit(", ", 1)[-1]
        work.add(sited, list(entry.suggestion.evidence), "most specific code", f"the note says: {why}",
                 entry.suggestion.score, entry.suggestion.source)
        work.absorb(code, sited, "one condition, one code", f"{sited} names the site")


def _site(text: str, language: str, staged: bool) -> str:
    regions: set[str] = set()
    for start, end in _node_sentences(text, language):
        part = text[start:end]
        regions |= {digit for digit, words in _REGIONS[language].items()
                    if re.search(r"\b(?:" + words + r")\b", part, re.IGNORECASE)}
    if len(regions) > 1 or staged:  # the lymphoma's own stage, not a CKD's
        return "8"
    return next(iter(regions)) if regions else ""


def _node_sentences(text: str, language: str) -> list[tuple[int, int]]:
    """The stretches of the note that speak of lymph nodes (the sentence or bracket of "nodes", "adenopathy")."""
    spans = []
    for found in _NODES[language].finditer(text):
        start = max(text.rfind(".", 0, found.start()), text.rfind("\n", 0, found.start())) + 1
        end = min((i for i in (text.find(".", found.end()), text.find("\n", found.end())) if i >= 0), default=len(text))
        spans.append((start, end))
    return spans


_LEUKEMIAS = ("C91", "C92", "C93", "C94", "C95")
_RELAPSE = {"en": re.compile(r"\b(?:in (?:first |second |\w+ )?relapse|relapsed|relapsing|recurrent)\b", re.IGNORECASE),
            "es": re.compile(r"\b(?:reca[ií]da|recidiva|en reca[ií]da|refractari[oa]\b)", re.IGNORECASE)}
_PHASES = {"0": "not having achieved remission", "1": "in remission", "2": "in relapse"}


def leukemia_phase(work: Worklist, winning: dict[tuple[int, int], list[str]]) -> None:
    """A leukemia the note states ("AML", "CLL") is coded with its phase (5th character): in relapse, in remission,
    or by default not having achieved remission (C92.00), from the sentences that name it. A leukemia the ranker left
    for review is coded when the dictionary's reading of the words is its category ("AML" C92.0)."""
    language = work.analysis.language
    text = work.analysis.text
    for entry in [*work.coded(), *work.candidates()]:
        if not entry.code.startswith(_LEUKEMIAS) or len(entry.code) < 5 or not entry.spans or \
                not work.codable(entry) or entry.only("historical") or \
                not (entry.coded or any(code[:5] == entry.code[:5] for span in entry.spans
                                          for code in winning.get(span, [])[:1])):
            continue
        base = entry.code[:5]
        if any(e.code.startswith(base) and e is not entry for e in work.coded()):
            continue
        sentences = [text[slice(*work.analysis.sentences.sentence_bounds(a, b))] for a, b in entry.spans]
        digit = "2" if any(affirmed(_RELAPSE[language], s) for s in sentences) else \
            "1" if any(affirmed(_REMISSION[language], s) for s in sentences) else "0"
        code = base + digit
        if code == entry.code or not work.tabular.is_billable(code):
            continue
        work.add(code, list(entry.suggestion.evidence), "most specific code", f"the note says: {_PHASES[digit]}"
                 if digit != "0" else "no remission stated: not having achieved remission", max(
                     entry.suggestion.score, 0.5), "tabular-list")
        if entry.coded:
            work.absorb(entry.code, code, "one condition, one code", f"{code} names the phase")
