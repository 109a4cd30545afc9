"""Adverse effects of drugs taken as prescribed (I.C.19.e.5.a): a condition the note ties to a drug ("hyponatremia
due to HCTZ", "anemia secundaria a quimioterapia") keeps its own code, listed first, and gets the drug's "Adverse
effect" code from the Table of Drugs and Chemicals (T50.2X5A), with the encounter's 7th character. A condition the
index codes by its cause ("Anemia > due to > antineoplastic chemotherapy" D64.81) takes that code. A poisoning or an
underdosing (an overdose, a drug stopped) is left to the coder: its codes come from other columns and other rules."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.kb.index import AlphabeticIndex
from core.nlp.textnorm import normalize
from core.rules.injury import visit_encounter, with_seventh
from core.rules.worklist import Entry, Worklist, denied_at
from core.schema import Span

RULE = "adverse effect"
DRUGS_FILE = Path(__file__).resolve().parents[2] / "data" / "conventions" / "drugs.toml"
ADVERSE_EFFECT = "Adverse effect"  # the Table of Drugs column
_REACH = 80  # characters between the end of the condition's words and the cue


@dataclass(frozen=True, slots=True)
class Induced:
    condition: str
    code: str
    drugs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DrugCues:
    cue: re.Pattern[str]
    before: re.Pattern[str]
    poisoning: re.Pattern[str]
    aliases: dict[str, str]
    induced: tuple[Induced, ...]
    spanish: bool  # Spanish drug names: also tried without their last vowel, or with "e"


@lru_cache(maxsize=4)
def drug_cues(language: str, path: Path = DRUGS_FILE) -> DrugCues | None:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    words = data.get(language)
    if words is None:
        return None
    return DrugCues(
        cue=re.compile(words["cue"], re.IGNORECASE), before=re.compile(words["before"], re.IGNORECASE),
        poisoning=re.compile(words["poisoning"], re.IGNORECASE), aliases=data.get("aliases", {}).get(language, {}),
        induced=tuple(Induced(i["condition"], i["code"], tuple(i.get("drugs", ()))) for i in data.get("induced", ())),
        spanish=language == "es")


def adverse_effect_code(words: str, index: AlphabeticIndex, cues: DrugCues,
                        column: str = ADVERSE_EFFECT) -> tuple[str, str] | None:
    """The Table of Drugs' code in ``column`` (adverse effect, a poisoning's intent) for the drug named at the start
    of ``words`` (up to three words), and the Table entry it was read from."""
    tokens = re.findall(r"[\w-]+|[^\w\s]", words.lower())[:4]
    for n in range(min(3, len(tokens)), 0, -1):
        if not all(re.match(r"\w", t) for t in tokens[:n]) or not _ends_name(tokens[n:n + 1]):
            continue  # "anemia from iron deficiency": iron names a deficiency here, not a drug taken
        name = " ".join(tokens[:n])
        names = [cues.aliases.get(name) or cues.aliases.get(normalize(name)) or name]
        if names[0] == name:  # the Table's own word; a Spanish name also without its last vowel, or with "e"
            plain = normalize(name)
            names += [plain, plain[:-1], plain[:-1] + "e"] if cues.spanish and plain[-1:] in ("a", "o") else [plain]
        for entry in names:
            term = index.find(*[p.strip() for p in entry.split(">")], column)
            if term is not None and term.code and term.source == "drug":
                return term.code, entry.replace(" > ", ", ")
    return None


_PAIR = re.compile(r"([^\W\d_]{3,})\s*(?:-|/|\+|\band\b|\by\b)\s*([^\W\d_]{3,})\s+(?:drug[- ])?(?:interaction|"
                   r"interacci[oó]n|combination|combinaci[oó]n)\b", re.IGNORECASE)


def _drugs_named(words: str, index: AlphabeticIndex, cues: DrugCues) -> list[tuple[str, str]]:
    """The drug named at the start of ``words``, or both drugs of an interaction ("2/2 warfarin-cipro interaction":
    each drug taken as prescribed has its adverse-effect code, I.C.19.e.5.a)."""
    pair = _PAIR.match(words)
    if pair:
        found = [adverse_effect_code(name, index, cues) for name in pair.groups()]
        if all(found):
            return found
    one = adverse_effect_code(words, index, cues)
    return [one] if one else []


def _named_member(found: tuple[str, str], text: str, index: AlphabeticIndex,
                  cues: DrugCues) -> tuple[str, str]:
    """A class the note also names a member of ("ulcer due to NSAID ... ibuprofen 800 mg") is that drug's entry
    (Propionic acid derivative T39.31-, not nonsteroidal NEC T39.39-): the Table codes the drug taken."""
    code, entry = found
    if entry.lower() not in _CLASS_ENTRIES:
        return found
    for word in re.finditer(r"[^\W\d_][\w-]{3,}", text):
        member = adverse_effect_code(word.group(), index, cues)
        if member is not None and member[0][:5] == code[:5] and member[0] != code:
            return member
    return found


# Table entries a note's class word leads to ("NSAID", "AINE"): a member named in the note is more specific.
_CLASS_ENTRIES = frozenset({"anti-inflammatory drug nec, nonsteroidal nec", "antidepressant, selective serotonin reuptake "
                            "inhibitor", "opioid nec", "diuretic nec", "anticoagulant nec", "corticosteroid",
                            "antineoplastic nec"})


def _a_condition(code: str) -> bool:
    """A code that names what happened ("angioedema" T78.3XXA), not a drug's or an external cause's code."""
    return code[0] not in "ZVWXY" and not DRUG_CHAPTER.match(code)


# Words that may follow a drug's name ("lisinopril 40 mg", "chemotherapy (FOLFOX)", "warfarin - hold", "HCTZ use"):
# any other word makes the name part of something else ("iron deficiency", "steroid myopathy").
_AFTER_NAME = frozenset({"therapy", "treatment", "use", "dose", "doses", "dosing", "tablets", "tabs", "taken", "and",
                         "or", "at", "in", "on", "for", "since", "started", "which", "that", "was", "is", "as",
                         "tratamiento", "terapia", "dosis", "a", "en", "y", "o", "que", "con", "desde", "pautad",
                         "pautada", "pautado", "mg", "mcg", "g", "iv", "po", "with", "plus", "junto", "mas", "más", "overdose",
                         "overdosed", "toxicity", "ingestion", "poisoning", "sobredosis", "intoxicacion",
                         "after", "tras", "pills", "capsules", "comprimidos", "pastillas", "x"})


def _ends_name(following: list[str]) -> bool:
    return not following or not re.match(r"[^\W\d_]", following[0]) or following[0] in _AFTER_NAME


def drug_encounter(text: str) -> str:
    """The 7th character of a drug's T code: A while the effect, poisoning or underdosing is treated, however the visit
    is called (a "follow-up" that finds the drug's effect treats it now); S for its sequela."""
    return "S" if visit_encounter(text) == "S" else "A"


def adverse_effects(work: Worklist, index: AlphabeticIndex | None) -> None:
    """A coded condition tied to a drug by the words between them gets the drug's adverse-effect code."""
    cues = drug_cues(work.analysis.language)
    if index is None or cues is None:
        return
    text = work.analysis.text
    sentences = work.analysis.sentences
    seventh = drug_encounter(text)
    for cue in cues.cue.finditer(text):
        if re.search(r"\b(?:not|no|nor|never)\s+$", text[max(0, cue.start() - 7) : cue.start()], re.IGNORECASE):
            continue  # "not related to chemotherapy": the note denies the link
        drugs = [_named_member(found, text, index, cues) for found in
                 _drugs_named(text[cue.end() : cue.end() + 60], index, cues)]
        if not drugs:
            continue
        left, right = sentences.sentence_bounds(cue.start(), cue.end())
        if cues.poisoning.search(text[left:right]):
            continue
        def before_cue(span: tuple[int, int], at: int = cue.start(), left: int = left) -> bool:
            """The condition's words end before the cue ("anemia") or run through it ("anemia due to chemo")."""
            return left <= span[0] <= at and (span[1] <= at + 1 and at - span[1] <= _REACH or span[1] > at)

        conditions = [e for e in work.coded() if _a_condition(e.code) and any(before_cue(s) for s in e.spans)]
        if not conditions:  # "Ulcer attributed to ibuprofen": the head word of one coded condition named before
            said = re.findall(r"[^\W\d_]+", text[left : cue.start()].lower())
            named = [e for e in work.coded() if _a_condition(e.code) and said and len(said) <= 3
                     and said[-1] in re.findall(r"[^\W\d_]+", work.tabular.description(e.code).lower())]
            conditions = named if len(named) == 1 else []
        if not conditions:
            continue
        condition = max(conditions, key=lambda e: max((min(b, cue.start()) for a, b in e.spans if before_cue((a, b))),
                                                      default=0))
        for found in drugs:
            _code_effect(work, condition, found, seventh, Span(start=cue.start(), end=cue.end(), text=cue.group()),
                         cues)
    for mark in cues.before.finditer(text):  # "lisinopril-induced angioedema"
        start = max(text.rfind(" ", 0, mark.start()), text.rfind("\n", 0, mark.start())) + 1
        found = adverse_effect_code(text[start : mark.start()], index, cues)
        if found is None:
            continue
        left, right = sentences.sentence_bounds(mark.start(), mark.end())
        conditions = [e for e in work.coded() if _a_condition(e.code) and any(
            mark.end() <= a <= mark.end() + 40 and b <= right for a, b in e.spans)]
        if conditions and not cues.poisoning.search(text[left:right]):
            _code_effect(work, conditions[0], found, seventh,
                         Span(start=start, end=mark.end(), text=text[start : mark.end()]), cues)


def _code_effect(work: Worklist, condition: Entry, found: tuple[str, str], seventh: str, cue: Span,
                 cues: DrugCues) -> None:
    table_code, entry = found
    code = with_seventh(table_code, seventh, work.tabular)
    if not code:
        return
    evidence = [*condition.suggestion.evidence, cue]
    for induced in cues.induced:
        if condition.code == induced.condition and (not induced.drugs or code.startswith(induced.drugs)):
            work.add(induced.code, evidence, RULE, f"the index codes {work.tabular.description(condition.code)} "
                     f"by its cause: {work.tabular.description(induced.code)}", condition.suggestion.score,
                     "index-navigator")
            work.absorb(condition.code, induced.code, RULE, f"{induced.code} names the cause")
            break
    work.add(code, evidence, RULE, f"Table of Drugs > {entry} > {ADVERSE_EFFECT} → {table_code}: "
             f"{work.tabular.description(code)}", condition.suggestion.score, "index-navigator")


# A poisoning (I.C.19.e.5.b): the drug taken in error or on purpose, its intent from the Table's columns, coded first
# with the manifestations after it; an unstated intent is accidental. Drugs and medicaments only (T36-T50): alcohol,
# metals and other chemicals are read by other rules (alcohol intoxication is F10.-).
_POISONING = {"en": re.compile(r"\b(?:overdos\w*|o/d on|ingest(?:ed|ion|ing)|poisoning|swallowed|took (?:\d+|~\d+|an? "
                               r"(?:handful|bottle))|\d+ (?:x )?(?:tabs|tablets|pills))\b", re.IGNORECASE),
              "es": re.compile(r"\b(?:sobredosis|intoxicaci[oó]n (?:por|medicamentosa|con)|ingesta (?:voluntaria|"
                               r"accidental|masiva|de \d+)|ingiri[oó]|tom[oó] \d+|\d+ (?:comprimidos|pastillas))\b",
                               re.IGNORECASE)}
# A dose taken in error: the drug is often named in the sentence before ("FA on Sintrom. Por error ha tomado el
# doble de la dosis pautada").
_DOSE_ERROR = {"en": re.compile(r"\b(?:by mistake|in error|took (?:a )?(?:double|twice|extra)|double (?:the )?dos\w*)\b",
                                re.IGNORECASE),
               "es": re.compile(r"\b(?:por error|por equivocaci[oó]n|(?:tomado|tom[oó]|toma) (?:el|la|una)? ?doble|"
                                r"dosis doble|doble de (?:la )?dosis)\b", re.IGNORECASE)}
_INTENT = (("Poisoning Intentional self-harm", re.compile(
               r"suicid|self[- ]harm|intentional(?!ly? unintentional)|deliberate|autol[ií]tic|voluntari|intent to die|"
               r"wanted to die|(?:intenci[oó]n|deseo|ganas) de morir", re.I)),
           ("Poisoning Assault", re.compile(r"\bassault|homicid|agresi[oó]n", re.I)),
           ("Poisoning Undetermined", re.compile(r"intent (?:is )?(?:unclear|unknown|undetermined)|"
                                                  r"intencionalidad (?:desconocida|no aclarada)", re.I)))
_ACCIDENTAL = "Poisoning Accidental (unintentional)"
DRUG_CHAPTER = re.compile(r"T(?:3[6-9]|4\d|50)\.")
_POISONING_CODE = re.compile(r"T(?:3[6-9]|4\d|50)\.\w\w[1-4]")  # 6th character 1-4: a poisoning's intent


_NOT_INTENDED = re.compile(r"\b(?:not|no|without|denies|never|non|sin|niega)\b[\w ]{0,20}$", re.IGNORECASE)
_STATED_ACCIDENTAL = re.compile(r"\b(?:accidental\w*|unintentional\w*|by accident|by mistake|in error|"
                                r"por error|involuntari\w*)", re.IGNORECASE)


def _stated_intent(text: str) -> str:
    """The Table column of the intent ``text`` states ("not intending self-harm" states none; "accidental" states
    the accidental column), or ""."""
    def stated(found: re.Match[str]) -> bool:
        return not _NOT_INTENDED.search(text, max(0, found.start() - 30), found.start())

    if any(stated(m) for m in _STATED_ACCIDENTAL.finditer(text)):
        return _ACCIDENTAL
    return next((name for name, words in _INTENT for m in words.finditer(text) if stated(m)), "")


def is_poisoning(code: str) -> bool:
    """A drug poisoning code (T36-T50 with an intent character), listed before its manifestations."""
    return bool(_POISONING_CODE.match(code))


def poisonings(work: Worklist, index: AlphabeticIndex | None) -> None:
    """A drug the note says was overdosed or ingested gets its poisoning code, with the intent the note states
    ("in suicide attempt": intentional self-harm), listed first; "Suicide attempt" T14.91 gives way to it."""
    pattern, cues = _POISONING.get(work.analysis.language), drug_cues(work.analysis.language)
    if index is None or pattern is None or cues is None:
        return
    text = work.analysis.text
    seventh = drug_encounter(text)
    done: set[tuple[int, int]] = set()
    note_intent = _stated_intent(text) or _ACCIDENTAL  # "in a suicide attempt"
    error = _DOSE_ERROR.get(work.analysis.language)
    cues_found = sorted([*((m, False) for m in pattern.finditer(text)),
                         *((m, True) for m in (error.finditer(text) if error else ()))], key=lambda c: c[0].start())
    for cue, in_error in cues_found:
        left, right = work.analysis.sentences.sentence_bounds(cue.start(), cue.end())
        if (left, right) in done:
            continue
        done.add((left, right))
        if in_error and left > 0:  # the drug of the sentence before, too
            left = work.analysis.sentences.sentence_bounds(left - 1, left)[0]
        sentence = text[left:right]
        column = _stated_intent(sentence) or note_intent
        for word in re.finditer(r"[A-Za-zÀ-ÿ][\w-]{3,}", sentence):
            found = adverse_effect_code(sentence[word.start():], index, cues, column)
            if found is None or not DRUG_CHAPTER.match(found[0]):
                continue
            code = with_seventh(found[0], seventh, work.tabular)
            if not code:
                continue
            span = Span(start=left + word.start(), end=left + word.end(), text=word.group())
            work.add(code, [span, Span(start=cue.start(), end=cue.end(), text=cue.group())], "poisoning",
                     f"Table of Drugs > {found[1]} > {column} → {found[0]}: {work.tabular.description(code)}",
                     0.5, "index-navigator")
            for entry in work.coded():
                if entry.code.startswith("T14.91") and column != _ACCIDENTAL or entry.code != code and (
                        entry.code[:6] == code[:6] and is_poisoning(entry.code)
                        or entry.code.startswith(("T65.9", "T50.9"))):  # an unnamed substance: the drug named
                    work.absorb(entry.code, code, "poisoning", f"{code} names the intent the note states")
            break
    _taken_with_alcohol(work)


_ALCOHOL = {"en": re.compile(r"\b(?:alcohol|etoh|ethanol|beers?|wine|vodka|whiske?y|liquor|drinks)\b", re.IGNORECASE),
            "es": re.compile(r"\b(?:alcohol|etanol|cervezas?|vino|whisky|licor|copas)\b", re.IGNORECASE)}
_TAKEN_WITH = re.compile(r"\b(?:with|and|plus|mixed with|along with|con|junto con|y)\b[^.;\n]*$|\+[^.;\n]*$", re.IGNORECASE)


def _taken_with_alcohol(work: Worklist) -> None:
    """A drug poisoning with alcohol taken alongside ("lorazepam with several beers") is also a poisoning by
    ethanol, T51.0X- with the drug's intent and encounter characters (Table of Drugs, Alcohol)."""
    drug = next((e for e in work.coded() if is_poisoning(e.code)), None)
    pattern = _ALCOHOL.get(work.analysis.language)
    if drug is None or pattern is None:
        return
    text, sentences = work.analysis.text, work.analysis.sentences
    own = {sentences.sentence_bounds(a, b) for a, b in drug.spans}
    found = next((m for m in pattern.finditer(text) if not denied_at(text, m.start())
                  and work.analysis.assertion_of(m.start(), m.end())[0] == "present"
                  and (sentences.sentence_bounds(m.start(), m.end()) in own
                       or _TAKEN_WITH.search(text, max(0, m.start() - 25), m.start()))), None)
    if found is None:
        return  # "drinks socially" in the social history is no co-ingestion
    code = f"T51.0X{drug.code[6]}{drug.code[7:]}"
    if work.tabular.is_billable(code):
        work.add(code, [Span(start=found.start(), end=found.end(), text=found.group())], "poisoning",
                 f"Table of Drugs > Alcohol, taken with {drug.code}: {work.tabular.description(code)}", 0.5,
                 "index-navigator")
