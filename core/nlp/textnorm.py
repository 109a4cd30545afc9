"""Text normalisation shared by the dictionary linker, retrieval and learned terms.

Matching is case- and accent-insensitive, skips function words and uses a light suffix stemmer so that
"edemas" / "edema" and "testicular" / "testículo" meet; keys are order-insensitive so that an index path
such as "Failure, heart, right" matches "right heart failure".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# "ex fumador" / "ex-smoker" is one word, read as "exfumador" / "exsmoker" (a former smoker, not a smoker).
TOKEN_RE = re.compile(r"(?:\b[Ee][Xx][-\s](?=[^\W\d_]{4}))?[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_EX_PREFIX = re.compile(r"^ex[-\s]")
# "Wilson's" / "Wilson’s" and "Wilson" share a stem: the index writes eponyms with the possessive, notes often not.
POSSESSIVE_RE = re.compile(r"['’]s$")

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


class _CombiningMarks(dict[int, int | None]):
    """A ``str.translate`` table that drops combining marks, filled in as characters are met."""

    def __missing__(self, point: int) -> int | None:
        kept = self[point] = None if unicodedata.combining(chr(point)) else point
        return kept


_COMBINING_MARKS = _CombiningMarks()


def strip_accents(text: str) -> str:
    if text.isascii():  # NFKD leaves ASCII as it is: most words need no decomposition
        return text
    return unicodedata.normalize("NFKD", text).translate(_COMBINING_MARKS)


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


# Relational adjectives and the organ nouns they stand for share one stem, so "pulmonary abscess" meets the index's
# "Abscess, lung" and "absceso pulmonar" the WHO's "absceso del pulmón". Only unambiguous pairs ("cervical" is neck
# or cervix, "spinal" is spine or spinal cord, Spanish "cólico" is also colic: left out).
_ORGAN_WORDS = {  # adjective=noun
    "en": (
        "pulmonary=lung renal=kidney hepatic=liver cardiac=heart gastric=stomach cerebral=brain dental=tooth "
        "teeth=tooth intestinal=intestine venous=vein arterial=artery arteries=artery ocular=eye eyes=eye "
        "cutaneous=skin osseous=bone urethral=urethra prostatic=prostate vesical=bladder palpebral=eyelid "
        "splenic=spleen pancreatic=pancreas esophageal=esophagus duodenal=duodenum laryngeal=larynx "
        "pharyngeal=pharynx tracheal=trachea bronchial=bronchus pleural=pleura pericardial=pericardium "
        "peritoneal=peritoneum ureteral=ureter vaginal=vagina vulvar=vulva penile=penis scrotal=scrotum "
        "testicular=testis retinal=retina corneal=cornea conjunctival=conjunctiva mandibular=mandible "
        "maxillary=maxilla femoral=femur cerebellar=cerebellum aortic=aorta uterine=uterus ovarian=ovary "
        "mammary=breast rectal=rectum colonic=colon gingival=gingiva lingual=tongue palatal=palate "
    ),
    "es": (
        "pulmonar=pulmon renal=riñon hepático=hígado cardíaco=corazón gástrico=estómago cerebral=cerebro "
        "dental=diente intestinal=intestino venoso=vena arterial=arteria ocular=ojo cutáneo=piel "
        "uretral=uretra prostático=próstata vesical=vejiga palpebral=párpado esplénico=bazo "
        "pancreático=páncreas esofágico=esófago duodenal=duodeno laríngeo=laringe faríngeo=faringe "
        "traqueal=tráquea bronquial=bronquio pleural=pleura pericárdico=pericardio peritoneal=peritoneo "
        "ureteral=uréter vaginal=vagina vulvar=vulva peneano=pene escrotal=escroto testicular=testículo "
        "retiniano=retina corneal=córnea conjuntival=conjuntiva mandibular=mandíbula maxilar=maxila "
        "femoral=fémur cerebeloso=cerebelo aórtico=aorta uterino=útero ovárico=ovario mamario=mama "
        "rectal=recto gingival=encía lingual=lengua palatino=paladar "
    ),
}
# Spanish words coders use interchangeably, read as the word the dictionaries know best ("adenomegalias" and
# "linfadenopatía" as "adenopatía", "fallo renal" as "insuficiencia renal", "sangrado" as "hemorragia").
_SYNONYM_WORDS = {  # word=canonical word
    "en": "leg=limb legs=limb arm=limb arms=limb extremity=limb extremities=limb",
    "es": (
        "adenomegalia=adenopatía linfadenopatía=adenopatía linfoadenopatía=adenopatía fallo=insuficiencia "
        "sangrado=hemorragia neoformación=neoplasia ulceración=úlcera cálculo=litiasis "
    ),
}


def _stem_pairs(pairs: str) -> dict[str, str]:
    return {
        stem(strip_accents(word)): stem(strip_accents(canonical))
        for word, canonical in (pair.split("=") for pair in pairs.split())
    }


# Stem → the stem it is read as (organ adjectives and synonyms), applied by ``tokenize``.
STEM_ALIASES = {
    language: _stem_pairs(_ORGAN_WORDS[language]) | _stem_pairs(_SYNONYM_WORDS[language]) for language in _ORGAN_WORDS
}


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # original text
    start: int
    end: int
    norm: str  # normalised
    stem: str
    is_stop: bool


# Per language, what ``tokenize`` reads in a word as written: (norm, stem, is_stop). Notes reuse few words; the
# rules tokenize the same sentences many times.
_WORDS: dict[str, dict[str, tuple[str, str, bool]]] = {}
_MAX_CACHED_WORDS = 200_000


def _read_word(word: str, language: str) -> tuple[str, str, bool]:
    norm = _EX_PREFIX.sub("ex", POSSESSIVE_RE.sub("", strip_accents(word.lower())))
    stemmed = stem(norm)
    aliases = STEM_ALIASES.get(language, {})
    return norm, aliases.get(stemmed, stemmed), norm in STOPWORDS.get(language, STOPWORDS["en"])


def tokenize(text: str, language: str) -> list[Token]:
    words = _WORDS.get(language)
    if words is None or len(words) > _MAX_CACHED_WORDS:
        words = _WORDS[language] = {}
    tokens: list[Token] = []
    for match in TOKEN_RE.finditer(text):
        word = match.group()
        read = words.get(word)
        if read is None:
            read = words[word] = _read_word(word, language)
        tokens.append(Token(word, match.start(), match.end(), *read))
    return tokens


@lru_cache(maxsize=16384)  # the rules key the same sentences and titles many times per note
def term_key(text: str, language: str, *, drop_fillers: bool = False) -> tuple[str, ...]:
    """Order-insensitive key of a term: sorted stems of its content words."""
    stems = [t.stem for t in tokenize(text, language) if not t.is_stop]
    if drop_fillers:
        stems = [s for s in stems if s not in DESCRIPTION_FILLERS] or stems
    return tuple(sorted(stems))
