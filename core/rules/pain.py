"""Pain, unspecified (R52): a coder codes it only for a pain nothing else explains. "Painful catching L ring finger
— trigger finger", "vesículas dolorosas ... herpes labial" say how the diagnosis of the same sentence feels, and
"ibuprofeno si dolor", "Tylenol PRN pain" are instructions, not a finding."""

from __future__ import annotations

import re

from core.rules.worklist import Worklist

UNSPECIFIED_PAIN = "R52"
# A pain named as what a drug is for, or when to take it.
_INSTRUCTION = re.compile(r"\b(?:if|for|prn|as needed for|si|para(?: el)?|en caso de|a demanda si)\s*$", re.IGNORECASE)


def _diagnosis(code: str) -> bool:
    """A code that names a condition (not a symptom, a status or an external cause)."""
    return code[0] not in "RVWXYZ"


def unlocated_pain(work: Worklist) -> None:
    """R52 gives way where each of its words is an instruction or sits in a sentence with a coded diagnosis."""
    entry = work.entries.get(UNSPECIFIED_PAIN)
    if entry is None or not entry.coded or not entry.spans:
        return
    text = work.analysis.text
    sentences = work.analysis.sentences
    diagnoses = [e for e in work.coded() if _diagnosis(e.code) and e.spans]
    explained_by = ""
    for start, end in entry.spans:
        if _INSTRUCTION.search(text[max(0, start - 20):start]):
            explained_by = explained_by or "an instruction"
            continue
        first, last = sentences.sentence_bounds(start, end)
        cause = next((d for d in diagnoses if any(first <= s and e <= last for s, e in d.spans)), None)
        if cause is None:
            return
        explained_by = cause.code
    if explained_by == "an instruction":
        work.demote(UNSPECIFIED_PAIN, "integral symptom", "the pain is what a drug is for, not a finding")
    else:
        work.absorb(UNSPECIFIED_PAIN, explained_by, "integral symptom",
                    f"the pain of {explained_by} ({work.tabular.description(explained_by)}), named in its sentence")
