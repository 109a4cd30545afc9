"""Text normalisation shared by the dictionary linker, retrieval and learned terms.

Matching is case- and accent-insensitive, skips function words and uses a light suffix stemmer so that
"edemas" / "edema" and "testicular" / "testículo" meet; keys are order-insensitive so that an index path
such as "Failure, heart, right" matches "right heart failure".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

TOKEN_RE = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)

STOPWORDS = {
    "es": set(
        "de del la las el los en y a al con por para su sus un una unos unas e o u se que lo le les "
        "como muy mas o sobre tras entre desde hasta".split()
    ),
    "en": set("of the a an in on and or to with for by at as from its is was are be this that".split()),
}
# Words that carry no meaning for coding when they end a description ("Pneumonia, unspecified organism").
DESCRIPTION_FILLERS = {
    "unspecified",
    "nos",
    "nec",
    "other",
    "specified",
    "organism",
    "site",
    "encounter",
    "initial",
}


# Relational adjectives and the organ nouns they stand for share one stem, so "pulmonary abscess" meets the index's
# "Abscess, lung" and "absceso pulmonar" the WHO's "absceso del pulmón". Keyed by the output of ``stem``; only
# unambiguous pairs ("cervical" is neck or cervix, "spinal" is spine or spinal cord: left out).
ORGAN_STEMS = {
    "en": {"pulmonary": "lung", "renal": "kidney", "hepatic": "liver", "cardiac": "heart", "gastric": "stomach",
           "cerebral": "brain", "dental": "tooth", "teeth": "tooth", "intestinal": "intestin", "venou": "vein",
           "arterial": "artery", "arteri": "artery", "ocular": "eye", "eyes": "eye", "cutaneou": "skin", "osseou": "bone"},
    "es": {"pulmonar": "pulmon", "renal": "rinon", "hepatic": "higad", "cardiac": "corazon", "gastric": "estomag",
           "cerebral": "cerebr", "dental": "dient", "intestinal": "intestin", "venos": "vena", "arterial": "arteri",
           "ocular": "ojo", "cutane": "piel"},
}


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize(text: str) -> str:
    """Lower-case, accent-free, single-spaced."""
    return " ".join(strip_accents(text.lower()).split())


def stem(word: str) -> str:
    """A deliberately light stemmer for Spanish and English clinical words (plural, gender, -ic/-al)."""
    if len(word) <= 4 or word.isdigit():
        return word
    for suffix in ("iones", "ciones", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)] if suffix in ("es", "s") else word[: -len(suffix)] + "ion"
            break
    if len(word) > 4 and word[-1] in "aoe":
        word = word[:-1]
    return word


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # original text
    start: int
    end: int
    norm: str  # normalised
    stem: str
    is_stop: bool


def tokenize(text: str, language: str) -> list[Token]:
    stops = STOPWORDS.get(language, STOPWORDS["en"])
    organs = ORGAN_STEMS.get(language, {})
    tokens: list[Token] = []
    for match in TOKEN_RE.finditer(text):
        norm = strip_accents(match.group().lower())
        stemmed = stem(norm)
        tokens.append(Token(match.group(), match.start(), match.end(), norm, organs.get(stemmed, stemmed),
                            norm in stops))
    return tokens


def term_key(text: str, language: str, *, drop_fillers: bool = False) -> tuple[str, ...]:
    """Order-insensitive key of a term: sorted stems of its content words."""
    stems = [t.stem for t in tokenize(text, language) if not t.is_stop]
    if drop_fillers:
        stems = [s for s in stems if s not in DESCRIPTION_FILLERS] or stems
    return tuple(sorted(stems))
