"""Diabetes conventions the index's "with" walk leaves open: the type the note states, and the foot ulcer's own code.

- The index's "Diabetes, diabetic" subterms lead to type 2 codes (E11.-), the default when the type is not stated
  (I.C.4.a.2). A note that states type 1 and never type 2 ("T1DM since age 11 ... proliferative diabetic retinopathy")
  is coded in E10.- with the same complication.
- A diabetic ulcer of the foot (heel, midfoot, toe, sole) is E1x.621 "with foot ulcer", not .622 "other skin ulcer",
  and its "use additional code to identify site of ulcer" asks for the L97.- code: site, side and depth (skin only,
  fat layer exposed, necrosis of muscle or bone) read from the ulcer's sentence.
"""

from __future__ import annotations

import re

from core.rules.worklist import Entry, Worklist
from core.schema import Span

_TYPE = {
    "1": re.compile(r"\b(?:type\s*(?:1|i)\b|t1dm|dm\s*(?:1|i)\b|dm-?1\b|tipo\s*(?:1|i)\b|iddm|insulin[- ]dependent "
                    r"diabetes|juvenile diabetes)", re.IGNORECASE),
    "2": re.compile(r"\b(?:type\s*(?:2|ii)\b|t2dm|dm\s*(?:2|ii)\b|dm-?2\b|tipo\s*(?:2|ii)\b|niddm)", re.IGNORECASE),
}
_NEGATED = re.compile(r"\b(?:no|not|without|sin|ni)\b[^,.;:]*")
_ULCER = re.compile(r"\b(?:ulcer|ulceration|[uú]lcera)s?\b", re.IGNORECASE)
# L97 fourth character by the ulcer's site; the first match in the sentence wins.
_SITES = (
    ("4", r"heel|midfoot|tal[oó]n|mediopi[eé]"),
    ("5", r"toe|hallux|plantar|sole|forefoot|metatars\w*|dedo|planta|antepi[eé]|foot|pie"),
    ("3", r"ankle|malleol\w*|tobillo|mal[eé]olo"),
    ("2", r"calf|pantorrilla|gemelo"),
    ("1", r"thigh|muslo"),
)
# L97 sixth character by the depth the note gives, deepest first.
_DEPTHS = (
    ("4", r"necrosis of bone|bone necrosis|necrosis [oó]sea"),
    ("3", r"necrosis of muscle|muscle necrosis|necrosis muscular"),
    ("6", r"bone (?:involvement|exposed)|exposed bone|hueso expuesto|exposici[oó]n [oó]sea|afectaci[oó]n [oó]sea"),
    ("5", r"muscle (?:involvement|exposed)|exposed muscle|m[uú]sculo expuesto|exposici[oó]n de m[uú]sculo"),
    ("2", r"fat layer|fat exposed|subcutaneous fat|tejido graso|grasa subcut[aá]nea|grasa expuesta"),
    ("1", r"breakdown of (?:the )?skin|skin breakdown|limited to (?:the )?skin|superficial|solo piel|"
          r"limitada a la piel"),
)


def diabetes_type(work: Worklist) -> None:
    """E11.x becomes E10.x when the note states type 1 diabetes and never type 2."""
    text = work.analysis.text
    if not _TYPE["1"].search(text) or _TYPE["2"].search(text):
        return
    for entry in list(work.coded()):
        if not entry.code.startswith("E11"):
            continue
        type_1 = "E10" + entry.code[3:]
        if not work.tabular.is_billable(type_1):
            continue
        work.add(type_1, list(entry.suggestion.evidence), "diabetes type",
                 f"the note states type 1 diabetes: {work.tabular.description(type_1)}", entry.suggestion.score,
                 "tabular-list")
        work.absorb(entry.code, type_1, "diabetes type", "the note states type 1, not type 2")


def foot_ulcer(work: Worklist) -> None:
    """A diabetic foot ulcer coded E1x.621 with its L97.- site and depth."""
    diabetic = [e for e in work.coded() if e.code[:3] in ("E08", "E09", "E10", "E11", "E13")]
    if not diabetic:
        return
    analysis = work.analysis
    text = analysis.text
    for match in _ULCER.finditer(text):
        if analysis.assertion_of(match.start(), match.end())[0] != "present":
            continue
        start, end = analysis.sentences.sentence_bounds(match.start(), match.end())
        sentence = text[start:end].lower()
        site = next((char for char, words in _SITES if re.search(rf"\b(?:{words})\b", sentence)), "")
        if site not in ("4", "5") or re.search(r"\bpressure\b|\bpresi[oó]n\b", sentence):
            continue
        side = analysis.side_of(match.start(), match.end())
        following = analysis.sentences.next_sentence(end)  # the wound bed is often described in the next sentence
        after = text[slice(*following)] if following is not None else ""
        _foot_ulcer_code(work, diabetic, Span(start=start, end=end, text=text[start:end]), site, side,
                         f"{sentence} {after.lower()}")
        return


def _foot_ulcer_code(work: Worklist, diabetic: list[Entry], evidence: Span, site: str, side: str,
                     sentence: str) -> None:
    head = diabetic[0].code[:3]
    combination = f"{head}.621"
    for entry in diabetic:
        if entry.code != combination and entry.code.endswith((".9", ".622", ".8", ".69")):
            work.add(combination, [evidence], "foot ulcer", f"Diabetes, diabetic > foot ulcer → {combination}",
                     entry.suggestion.score, "index-navigator")
            work.absorb(entry.code, combination, "foot ulcer", "the ulcer is of the foot")
    if combination not in {e.code for e in work.coded()}:  # beside another complication (I.C.4.a: as many as needed)
        work.add(combination, [evidence], "foot ulcer", f"Diabetes, diabetic > foot ulcer → {combination}",
                 diabetic[0].suggestion.score, "index-navigator")
    side_char = {"right": "1", "left": "2"}.get(side, "9")
    affirmed = _NEGATED.sub(" ", sentence)  # "no muscle or bone involvement" names no depth
    depth = next((char for char, words in _DEPTHS if re.search(words, affirmed)), "9")
    code = f"L97.{site}{side_char}{depth}"
    if not work.tabular.is_billable(code):
        return
    for entry in list(work.coded()):
        if entry.code.startswith(("L97", "L98.4")) and entry.code != code:
            work.absorb(entry.code, code, "use additional", "the ulcer's site, side and depth")
    work.add(code, [evidence], "use additional", f"{combination}: use additional code for the site of the ulcer → "
             f"{work.tabular.description(code)}", 0.5, "tabular-list")


def kidney_once(work: Worklist) -> None:
    """Diabetic kidney disease with chronic kidney disease is E1x.22 alone: the nephropathy (E1x.21) and the "other
    kidney complication" (E1x.29) of the same kidneys are not coded beside it (one condition, one code)."""
    coded = work.coded()
    for entry in coded:
        if entry.code[:3] in ("E08", "E09", "E10", "E11", "E13") and entry.code[3:] in (".21", ".29"):
            ckd = next((o for o in coded if o.code == entry.code[:3] + ".22"), None)
            if ckd is not None:
                work.absorb(entry.code, ckd.code, "one condition, one code",
                            f"{ckd.code} names the diabetic kidney disease with its chronic kidney disease")
