"""Rule-based assertion detection (negated, ruled out, possible, historical, family, hypothetical).

A small ConText-style algorithm: a trigger phrase in the same clause (spaCy sentence, cut at ; and :) scopes forward (pre-triggers)
or backward (post-triggers) over a few tokens, and scope stops at a termination word ("but", "pero") or at a new verb
after a comma or "y" / "and" ("sin antecedentes de interés, consultó por una tumoración"). Pseudo-triggers are
phrases that contain a trigger word but close on themselves ("no obstante", "no alérgico", "sin antecedentes de
interés"): their words trigger nothing after them.
Negated, family and hypothetical mentions are not coded; the reason stays in the trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.nlp.sentences import SentenceIndex
from core.nlp.textnorm import normalize
from core.schema import Assertion

WINDOW_CHARS = 60  # how far a trigger reaches (about 6–8 words)
NOT_CODED = frozenset({"negated", "family", "hypothetical"})  # the product's policy: listed for review, never coded


def never_coded(assertions: Iterable[str], policy: str = "coding") -> bool:
    """Every mention of a code is negated, family or hypothetical, or only possible where another mention negates it
    ("AKI r/o" ... "no AKI": ruled out): under the product's policy ("coding") it is listed for review only;
    CodiEsp's convention ("codiesp") codes it anyway."""
    said = list(assertions)
    return policy != "codiesp" and all(a in NOT_CODED or a == "possible" for a in said) and \
        any(a in NOT_CODED for a in said)

# Historical cues that say a treatment was taken and stopped ("completed 6 mo apixaban"): no long-term drug now.
STOPPED_CUES = {"en": ("no longer on", "no longer taking", "completed", "finished", "switched from", "switched",
                       "changed from",
                       "transitioned from", "stopped", "discontinued", "was stopped", "was discontinued"),
                "es": ("ya no toma", "finalizo", "completo", "se cambio de", "se suspendio", "suspendio",
                       "suspendido", "suspendida")}
# "switched from metformin to insulin": the drug after "to" is the one taken now.
_FROM_CUES = {"en": ("switched from", "switched", "changed from", "transitioned from"), "es": ("se cambio de",)}
_FROM_ENDS = {"en": re.compile(r"\bto\b|->|→"), "es": re.compile(r"\b(?:a|por)\b|->|→")}
# Said right after a finding, with at most a short word between ("Speech normal", "LFTs/INR nl", "diabetes check"):
# the finding was examined and is normal, or only looked for. Further away they describe something else.
_CLOSE_POST = {"en": {"negated": ["normal", "nl", "wnl", "within normal limits", "unremarkable"],
                      "hypothetical": ["check", "screen", "screening"], "historical": ["resolved"]},
               "es": {"negated": ["normal", "normales"], "hypothetical": [], "historical": ["resuelto", "resuelta"]}}
_PRE: dict[str, dict[str, list[str]]] = {
    "en": {
        "negated": [
            "no", "not", "denies", "denied", "deny", "without", "w/o", "w/out", "negative for", "no evidence of", "no signs of",
            "absence of", "absent", "free of", "ruled out", "rules out", "excluded", "nor", "never had",
            "no history of", "unremarkable for", "resolved", "never", "neg for",
        ],
        "possible": ["possible", "probable", "suspected", "suspect", "suspicious for", "suspicion of", "rule out", "r/o", "cannot exclude",
                     "questionable", "likely", "differential diagnosis", "not ruled out", "cannot rule out", "vs",
                     "versus",
                     "could not rule out", "could not be ruled out", "cannot be ruled out", "concern for",
                     "concerning for", "worrisome for"],
        # "with" ends a scope ("fever with cough"), except after a relative: "brother with diabetes".
        "family": ["family history of", "fhx of", "fhx", "fh of", "family hx of", "fam hx of", "fam hx", "mother", "father", "brother", "sister", "maternal", "paternal",
                   "mother with", "father with", "brother with", "sister with", "son with", "daughter with"],
        "hypothetical": ["risk of", "if", "in case of", "prophylaxis of", "to prevent", "screening for", "screen for",
                         "will start", "plan to start", "plans to start",
                         "susceptibility to", "predisposition to", "predisposed to"],
        "historical": ["history of", "past history of", "previous", "prior", "hx of", "status post", "former",
                       "remote history of", "personal history of", "remote", "quit", "ex", "h/o", "s/p", "hx",
                       "after admission for", "after hospitalization for", "after discharge for",
                       "following admission for", "following hospitalization for", *STOPPED_CUES["en"]],
    },
    "es": {
        "negated": [
            "no", "sin", "niega", "negaba", "nego", "negativo para", "negativa para", "negativos para",
            "negativas para", "ausencia de", "ausente",
            "libre de", "se descarta", "se descarto", "se descartan", "se descartaron", "descartamos", "se excluye",
            "se excluyen", "descartandose", "descartando", "ni", "no se observa",
            "no se observan", "no presenta", "no presento", "sin evidencia de", "sin signos de", "no refiere", "nunca",
        ],
        "possible": ["posible", "probable", "sospecha de", "sospecha", "dudoso", "dudosa", "a descartar",
                     "diagnostico diferencial", "no se descarta", "no se puede descartar", "no se pudo descartar",
                     "sin poder descartar", "sin descartar", "no descartandose", "vs", "versus"],
        "family": ["antecedentes familiares de", "antecedente familiar de", "af de", "madre", "padre", "hermano", "hermana", "familiar", "madre con",
                   "padre con", "hermano con", "hermana con", "hijo con", "hija con", "abuelo con", "abuela con"],
        "hypothetical": ["riesgo de", "en caso de", "profilaxis de", "para prevenir", "cribado de", "despistaje de",
                         "se iniciara", "se iniciaria", "pendiente de iniciar",
                         "susceptibilidad a", "predisposicion a"],
        "historical": ["antecedentes de", "antecedente de", "historia de", "previo", "previa", *STOPPED_CUES["es"]],
    },
}
_POST: dict[str, dict[str, list[str]]] = {
    "en": {"negated": ["was ruled out", "were ruled out", "is ruled out", "ruled out", "negative", "was excluded",
                       "unlikely", "not seen", "not found", "was not", "were not", "0/10", "neg", "not needed",
                       "not required", "not indicated", "now resolved", "since resolved", "has resolved",
                       "have resolved", "sx resolved", "symptoms resolved", "has fully resolved",
                       "have fully resolved", "but ruled out", "but was ruled out", "but was excluded", "excluded", "not suspected", "not identified",
                       *_CLOSE_POST["en"]["negated"]],
           "hypothetical": ["prophylaxis", "ppx", "precautions", "to be started", "will be started", "to be initiated",
                            "will be initiated", *_CLOSE_POST["en"]["hypothetical"]],
           "historical": ["stopped", "discontinued", "was stopped", "was discontinued", "d/c'd", "dc'd",
                          *_CLOSE_POST["en"]["historical"]],
           "possible": ["is suspected", "was suspected", "suspected", "cannot be excluded", "cannot be ruled out", "r/o",
                        "to be ruled out",
                        "could not be ruled out", "not ruled out"]},
    "es": {"negated": ["fue descartada", "fue descartado", "descartada", "descartado", "descartados",
                       "descartadas", "negativo", "negativa", "negativos", "negativas", "ausente", "0/10",
                       "ya resuelto", "ya resuelta", "actualmente resuelto", "actualmente resuelta",
                       *_CLOSE_POST["es"]["negated"]],
           "possible": ["a descartar", "en estudio"],
           "family": ["en el padre", "en la madre", "en su padre", "en su madre", "del padre", "de la madre"],
           "hypothetical": ["profilactica", "profilactico"],
           "historical": ["suspendido", "suspendida", *_CLOSE_POST["es"]["historical"]]},
}
_TERMINATION = {
    "en": ["but", "however", "although", "except", "which", "aside from", "apart from", "presented with", "with"],
    "es": ["pero", "aunque", "sin embargo", "excepto", "salvo", "que presenta", "presentando", "con", "y presenta",
           "consulta por", "que consulta", "acude por", "que acude", "ingresa por"],
}
_PSEUDO = {
    "en": ["not only", "no further", "no change", "no known allergies", "no known drug allergies", "nothing else",
           "no other relevant history", "no relevant history", "no past history of interest"],
    "es": ["no obstante", "sin embargo", "no solo", "no solamente", "no alergico", "no alergica", "no alergicos",
           "no alergias conocidas", "no alergias medicamentosas conocidas", "sin alergias conocidas",
           "sin alergias medicamentosas conocidas", "sin alergias medicamentosas", "sin antecedentes de interes",
           "sin antecedentes personales de interes", "sin antecedentes medicos de interes",
           "sin antecedentes patologicos de interes", "sin antecedentes medico-quirurgicos de interes",
           "sin otros antecedentes de interes", "sin antecedentes familiares de interes",
           "sin antecedentes personales ni familiares de interes", "no antecedentes de interes",
           "sin antecedentes clinicos de interes", "sin cambios", "sin incidencias", "no celula pequena",
           "no celulas pequenas", "no microcitico", "no hodgkin", "no filiada", "no filiado", "no filiadas", "no filiados",
           "no aclarada", "no aclarado", "no doloroso", "no dolorosa", "no dolorosos",
           "no dolorosas", "sin conseguir", "sin lograr", "sin contraste", "con y sin contraste"],
}
# A finite verb or gerund after a comma or "y" starts a new statement: "no mostró lesiones, el análisis mostró ...",
# "no se realizó tratamiento y el paciente ingresó en ...". Read on the original text: "-ó" needs its accent.
_NEW_STATEMENT = {
    # "TIA w/o residual deficits, on apixaban": a medication clause after a comma is a new statement
    "en": re.compile(r"(?:,|\band\b)\s*(?:[^\W\d_]+\s+){0,3}?(?:[^\W\d_]+ed|was|were|shows|presents|consults|reports)\b|"
                     r",\s*(?:on|taking|takes)\b|,\s*(?:acute|sudden|new|abrupt)[- ]onset\b"),
    "es": re.compile(
        r"(?:,|\by\b)\s*(?:[^\W\d_]+\s+){0,3}?"
        r"(?:[^\W\d_]+(?:ó|aba|aban|aron|ieron|ando|iendo|ándose|iéndose)|referían?|tenían?|padecía|existía|aparecía)\b"
    ),
}
# A relative written as a label before a colon or a dash ("Mother: ovarian ca at 54; maternal aunt: breast ca"): the
# clause after it is the relative's. Matched on the normalised text right before the clause.
_FAMILY_LABEL = {
    "en": re.compile(r"(?:^|[\s;,.(])((?:maternal |paternal )?(?:mother|father|mom|dad|brother|sister|siblings?|sons?|"
                     r"daughters?|aunt|uncle|grandmother|grandfather|grandma|grandpa|cousin|twin)(?: \w+)?)\s*[:\-]\s*$"),
    "es": re.compile(r"(?:^|[\s;,.(])((?:madre|padre|hermanos?|hermanas?|hij[oa]s?|tio|tia|abuel[oa]|prim[oa])"
                     r"(?: \w+)?)\s*[:\-]\s*$"),
}
_STATEMENT_BREAK = re.compile(r",|\s[-\u2013\u2014]\s")  # "atypical chest pain - ACS ruled out": another statement


def _breaks(between: str) -> bool:
    """Another statement starts between a mention and a post-trigger; a dash alone is the label's ("pneumonia —
    resolved")."""
    return bool(_STATEMENT_BREAK.search(between)) and bool(between.strip(" -\u2013\u2014"))


_QUESTIONED = re.compile(r"(?:^|\s)\?[^\S\n]?$")  # a question mark right before the mention (sentences split there)
# Post-triggers that are also pre-triggers say something of the mention only right after it ("AKI r/o"), not of a
# mention before what they introduce ("atypical chest pain, r/o unstable angina").
_ADJACENT_POST = frozenset({"r/o"})
_CLOSE = {lang: frozenset(w for words in kinds.values() for w in words) for lang, kinds in _CLOSE_POST.items()}
# "negativo para/de X" is a pre-trigger for X, not a post-trigger for what came before it.
_POST_NOT_BEFORE = re.compile(r"\s*(?:de|para|for)\b")
# Order matters: a negation outranks a possibility, which outranks history.
_PRIORITY: tuple[Assertion, ...] = ("negated", "family", "hypothetical", "possible", "historical")


def _pattern(words: list[str]) -> re.Pattern[str]:
    alternatives = sorted({re.escape(normalize(w)) for w in words}, key=len, reverse=True)
    return re.compile(r"(?<![\w])(" + "|".join(alternatives) + r")(?![\w])")


@dataclass(frozen=True)
class _Rules:
    pre: dict[str, re.Pattern[str]]
    post: dict[str, re.Pattern[str]]
    termination: re.Pattern[str]
    pseudo: re.Pattern[str]
    new_statement: re.Pattern[str] | None
    family_label: re.Pattern[str]


_RULES = {
    lang: _Rules(
        pre={k: _pattern(v) for k, v in _PRE[lang].items()},
        post={k: _pattern(v) for k, v in _POST[lang].items()},
        termination=_pattern(_TERMINATION[lang]),
        pseudo=_pattern(_PSEUDO[lang]),
        new_statement=_NEW_STATEMENT.get(lang),
        family_label=_FAMILY_LABEL[lang],
    )
    for lang in _PRE
}


_RESOLVED_INSIDE = {lang: _pattern(kinds["historical"]) for lang, kinds in _CLOSE_POST.items()}


class AssertionDetector:
    """Works on the normalised note (same length as the original for Latin text, so offsets carry over)."""

    def __init__(self, text: str, language: str, sentences: SentenceIndex | None = None) -> None:
        self.text = text
        self.language = language
        self.norm = _same_length_normalize(text)
        self.rules = _RULES.get(language, _RULES["en"])
        self.sentences = sentences or SentenceIndex(text, language)

    def classify(self, start: int, end: int) -> tuple[Assertion, str]:
        """Assertion of the mention at [start, end) and the cue that set it ("" when present)."""
        left, right = self.sentences.clause_bounds(start, end)
        window_start = max(left, start - WINDOW_CHARS)
        unmasked = self.norm[window_start:start]
        # Pseudo-triggers are blanked for finding triggers only: "sin embargo" still ends a scope.
        before = self.rules.pseudo.sub(lambda m: " " * len(m.group()), unmasked)
        after_end = min(right, end + WINDOW_CHARS)
        after = self.norm[end:after_end]
        found: dict[str, str] = {}
        for kind, match in _outermost(self.rules.pre, before):
            if match.group(1) in _FROM_CUES.get(self.language, ()) and _FROM_ENDS[self.language].search(
                    unmasked[match.end() :]):
                continue
            if not self._scope_ends(unmasked[match.end() :], self.text[window_start + match.end() : start]):
                found.setdefault(kind, match.group(1))
        post = _outermost(self.rules.post, after)
        for kind in self.rules.post:
            for match in (m for k, m in post if k == kind):
                if _POST_NOT_BEFORE.match(after, match.end()) or \
                        match.group(1) in _ADJACENT_POST and after[: match.start()].strip() or \
                        match.group(1) in _CLOSE[self.language] and (not _short_list(after[: match.start()])
                                                                     or _breaks(after[: match.start()])):
                    continue
                between = after[: match.start()]
                # A comma before a post-trigger starts another statement: "sepsis due to pneumonia, blood cultures
                # negative" says nothing negative of the pneumonia; a list of short items is one statement
                # ("hepatitis A, B y C negativas") when the mention is one of its short items ("atypical chest pain, ACS
                # ruled out" rules out the ACS only).
                items = re.findall(r"\w+", between)
                listed = _short_list(between) and (len((re.findall(r"\w+", self.norm[start:end]) or [""])[-1]) <= 3
                                                   or all(len(w) <= 2 for w in items))
                aside = "(" in between and ")" not in between  # "pielonefritis (urocultivo negativo)"
                if (not _breaks(between) or listed) and not aside and \
                        not self._scope_ends(between, self.text[end : end + match.start()]):
                    found.setdefault(kind, match.group(1))
                break
        inside = _RESOLVED_INSIDE[self.language].search(self.norm, start + 1, end)
        if inside:  # a mention that runs over its own "resolved" ("LLL infiltrate resolved, lungs clear")
            found.setdefault("historical", inside.group())
        if _QUESTIONED.search(self.norm[max(0, start - 3) : start]):  # "?GERD vs gastritis": a question, not a finding
            found.setdefault("possible", "?")
        label = self.rules.family_label.search(self.norm[max(0, left - 40) : left]) if left > start - WINDOW_CHARS else None
        if label is not None:  # "Mother: ovarian ca at 54; maternal aunt: breast ca"
            found.setdefault("family", label.group(1))
        for kind in _PRIORITY:
            if kind in found:
                return kind, found[kind]
        return "present", ""

    def _scope_ends(self, between: str, between_original: str) -> bool:
        """A termination word, or a new statement, lies between a trigger and the mention."""
        if self.rules.termination.search(between) or between.count(")") > between.count("("):
            return True  # a trigger inside a parenthesis that closes first: "(cath w/o obstructive CAD), chronic HF"
        return bool(self.rules.new_statement and self.rules.new_statement.search(between_original))


_LIST_JOINERS = frozenset({"y", "e", "o", "ni", "and", "or", "nor"})


def _short_list(between: str) -> bool:
    """Only short list items (letters, numbers, types) and conjunctions lie between the mention and a trigger."""
    words = re.findall(r"\w+", between)
    return all(len(word) <= 3 or word in _LIST_JOINERS for word in words)


def _outermost(patterns: dict[str, re.Pattern[str]], text: str) -> list[tuple[str, re.Match[str]]]:
    """Trigger matches of every kind, in text order, without those inside a longer one: "no se descarta" is a
    possibility, not the negations "no" and "se descarta"; "cannot be ruled out" is not "ruled out"."""
    matches = [(kind, match) for kind, pattern in patterns.items() for match in pattern.finditer(text)]
    kept = [(kind, match) for kind, match in matches
            if not any(other.start() <= match.start() and match.end() <= other.end()
                       and other.end() - other.start() > match.end() - match.start() for _, other in matches)]
    return sorted(kept, key=lambda item: item[1].start())


def _same_length_normalize(text: str) -> str:
    """Lower-case and strip accents character by character so offsets stay valid."""
    return "".join([_CHARS.get(ch) or _fold_char(ch) for ch in text])


_CHARS: dict[str, str] = {}  # each character's one-character fold, computed once


def _fold_char(ch: str) -> str:
    norm = normalize(ch)
    folded = _CHARS[ch] = norm if len(norm) == 1 else (ch.lower() if len(ch.lower()) == 1 else " ")
    return folded
