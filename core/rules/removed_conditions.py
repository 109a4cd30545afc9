"""A condition a past operation removed is no current condition: "s/p L below-knee amputation 2021 for a nonhealing
heel ulcer", "revisión a las 6 semanas de artroplastia de cadera izquierda por coxartrosis". The operation is
coded by its status (Z89, Z96, Z90); the condition it was done for is not coded as current. A malignancy is left
to the neoplasm rules, which weigh the treatment still given against its history (Z85). An operation of this stay ("admitted for cholecystectomy for acute cholecystitis") has
no past marker and leaves its condition current."""

from __future__ import annotations

import re

from core.rules.neoplasm_history import is_primary_malignancy
from core.rules.worklist import Worklist

RULE = "removed by a past operation"
# An operation that takes away or replaces the diseased part, then "for" / "por" just before or inside the
# condition's words (a side may come first: "izquierda por coxartrosis").
_REMOVED_FOR = re.compile(
    r"\b(?:\w+ectom(?:y|ies|ía|ías)|amputation|amputaci[oó]n|arthroplasty|artroplastia|(?:joint|hip|knee) "
    r"replacement|pr[oó]tesis|resection|resecci[oó]n|excision|exéresis|exeresis)\b[^.;:]{0,60}?\b(?:for|por)\s+",
    re.IGNORECASE)
_FEW_WORDS = re.compile(r"(?:[\w-]+\s+){0,2}")
# The operation lies in the past: "s/p", a year, "N weeks after", "hace", a follow-up visit after it.
_PAST = re.compile(
    r"\b(?:s/p|status post|h/o|history of|antecedentes? de|(?:19|20)\d\d|ago|hace|previous|prior|remote|"
    r"\d+\s*(?:wks?|weeks?|mo|months?|yrs?|years?|semanas|meses|a[ñn]os)\b|revisi[oó]n|post-?op|postoperative|"
    r"posoperatori[oa]|postoperatori[oa])", re.IGNORECASE)


def removed_conditions(work: Worklist) -> None:
    text = work.analysis.text
    sentences = work.analysis.sentences
    for entry in list(work.coded()):
        if entry.code[0] in "ZSTVWXY" or not entry.spans or is_primary_malignancy(entry.code):
            continue
        removed = True
        for start, end in entry.spans:
            left, _ = sentences.sentence_bounds(start, end)
            near = any(start <= m.end() <= end or m.end() < start and _FEW_WORDS.fullmatch(text, m.end(), start)
                       for m in _REMOVED_FOR.finditer(text, left, end))
            if not near or not _PAST.search(text[left:end]):
                removed = False
                break
        if not removed:
            continue
        work.demote(entry.code, RULE, "the condition a past operation removed or replaced is not current")
