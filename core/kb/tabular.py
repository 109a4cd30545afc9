"""The ICD-10-CM tabular list (from the PyPI package ``simple-icd-10-cm``) as typed objects.

The library reports includes/excludes only on the node that carries them; coders apply them to
every code below that node, so :meth:`Tabular.inherited_notes` merges the notes of all ancestors.
"""

from __future__ import annotations

import copy
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from core.kb.cache import cached_pickle
from core.kb.resources import ResourceInfo

NOTE_FIELDS = (
    "includes",
    "inclusion_terms",
    "excludes1",
    "excludes2",
    "code_first",
    "use_additional",
    "code_also",
    "notes",
)
# Notes that apply to everything below the node that carries them.
INHERITED_FIELDS = ("includes", "excludes1", "excludes2", "code_first", "use_additional", "code_also", "notes")

TABULAR_FORMAT = "2"  # bump when the parsed structure changes
CODE_RE = re.compile(r"\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(?:\.?-)?")


@dataclass(slots=True)
class InstructionalNotes:
    includes: list[str] = field(default_factory=list)
    inclusion_terms: list[str] = field(default_factory=list)
    excludes1: list[str] = field(default_factory=list)
    excludes2: list[str] = field(default_factory=list)
    code_first: list[str] = field(default_factory=list)
    use_additional: list[str] = field(default_factory=list)
    code_also: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seven_chr_note: str = ""
    seven_chr_def: dict[str, str] = field(default_factory=dict)

    def referenced_codes(self, field_name: str) -> list[str]:
        """Codes named inside a note list, e.g. ``'bacteremia NOS (R78.81)'`` → ``['R78.81']``."""
        found: list[str] = []
        for text in getattr(self, field_name):
            for match in CODE_RE.finditer(text):
                if match.group(1) not in found:
                    found.append(match.group(1))
        return found

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in NOTE_FIELDS) and not self.seven_chr_def


@dataclass(slots=True)
class Code:
    code: str  # dotted, upper-case, e.g. "I50.810"; blocks as "I30-I5A", chapters as "9"
    description: str
    kind: str  # chapter | block | category | subcategory | extended
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    billable: bool = False
    chapter: str = ""
    notes: InstructionalNotes = field(default_factory=InstructionalNotes)


@lru_cache(maxsize=65536)  # the rules normalise the same few hundred codes again and again
def normalize_code(code: str) -> str:
    """``'n44.8'``, ``'N448'`` → ``'N44.8'``; blocks and chapters are returned unchanged (upper-cased)."""
    text = code.strip().upper().rstrip("-").rstrip(".")
    if "-" in text or text.isdigit() or len(text) <= 3 or "." in text:
        return text
    return f"{text[:3]}.{text[3:]}"


def _plain_title(text: str) -> str:
    """Lower-case words in the singular: "Other specified diseases of esophagus" meets "... disease of ...",
    "opacities" meets "opacity"."""
    words = re.findall(r"\w+", text.lower())
    return " ".join(w[:-3] + "y" if w.endswith("ies") else w.removesuffix("s") for w in words)


def _split_lines(value: str | None) -> list[str]:
    if not value:
        return []
    return [line.strip() for line in str(value).splitlines() if line.strip()]


def _build_codes() -> dict[str, Code]:
    import simple_icd_10_cm as lib

    codes: dict[str, Code] = {}
    for name in lib.get_all_codes(True):
        # A block holding a single category shares its name (e.g. "B10"); the category wins.
        if lib.is_chapter(name):
            kind = "chapter"
        elif lib.is_category(name):
            kind = "category"
        elif lib.is_block(name):
            kind = "block"
        elif lib.is_extended_subcategory(name):
            kind = "extended"
        else:
            kind = "subcategory"
        notes = InstructionalNotes(
            includes=list(lib.get_includes(name)),
            inclusion_terms=list(lib.get_inclusion_term(name)),
            excludes1=list(lib.get_excludes1(name)),
            excludes2=list(lib.get_excludes2(name)),
            code_first=_split_lines(lib.get_code_first(name)),
            use_additional=_split_lines(lib.get_use_additional_code(name)),
            code_also=_split_lines(lib.get_code_also(name)),
            notes=_split_lines(lib.get_notes(name)),
            seven_chr_note=lib.get_seven_chr_note(name) or "",
            seven_chr_def=dict(lib.get_seven_chr_def(name) or {}),
        )
        ancestors = [a for a in lib.get_ancestors(name) if a != name]
        codes[name] = Code(
            code=name,
            description=lib.get_description(name),
            kind=kind,
            parent=ancestors[0] if ancestors else None,
            children=list(lib.get_children(name)),
            billable=lib.is_leaf(name) and kind not in ("chapter", "block"),
            chapter=ancestors[-1] if ancestors else name,
            notes=notes,
        )
    return codes


def tabular_edition() -> str:
    """Package version plus the release named by its bundled data file (e.g. ``1.5.0/April-2026``)."""
    version = metadata.version("simple-icd-10-cm")
    import importlib.util

    spec = importlib.util.find_spec("simple_icd_10_cm")
    release = ""
    if spec and spec.origin:
        for path in (Path(spec.origin).parent / "data").glob("icd10c-tabular-*.xml"):
            release = path.stem.replace("icd10c-tabular-", "")
    return f"{version}/{release}"


@dataclass
class Tabular:
    codes: dict[str, Code]
    info: ResourceInfo
    _inherited: dict[str, InstructionalNotes] = field(default_factory=dict, repr=False)
    _unspecified: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    _current: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, cache_dir: Path) -> Tabular:
        edition = tabular_edition()
        codes = cached_pickle(cache_dir, "tabular", f"{TABULAR_FORMAT}-{edition.replace('/', '_')}", _build_codes)
        info = ResourceInfo(
            name="ICD-10-CM tabular list",
            edition=edition,
            source="PyPI package simple-icd-10-cm",
            items=len(codes),
        )
        return cls(codes=codes, info=info)

    def get(self, code: str) -> Code | None:
        return self.codes.get(normalize_code(code))

    def exists(self, code: str) -> bool:
        return normalize_code(code) in self.codes

    def is_billable(self, code: str) -> bool:
        item = self.get(code)
        return bool(item and item.billable)

    def description(self, code: str) -> str:
        item = self.get(code)
        return item.description if item else ""

    def ancestors(self, code: str) -> list[str]:
        """Parent first, chapter last."""
        out: list[str] = []
        item = self.get(code)
        while item and item.parent and item.parent not in out and len(out) < 8:
            out.append(item.parent)
            item = self.codes.get(item.parent)
        return out

    def descendants(self, code: str) -> list[str]:
        item = self.get(code)
        if item is None:
            return []
        out: list[str] = []
        stack = list(reversed(item.children))
        while stack:
            name = stack.pop()
            out.append(name)
            stack.extend(reversed(self.codes[name].children))
        return out

    def billable_descendants(self, code: str) -> list[str]:
        """The code itself when billable, else every billable code below it."""
        item = self.get(code)
        if item is None:
            return []
        if item.billable:
            return [item.code]
        return [name for name in self.descendants(item.code) if self.codes[name].billable]

    def unspecified_code(self, code: str, side: str = "") -> str:
        """The billable code a coder picks below ``code`` when nothing more is known: the code itself when billable,
        else the least specific "unspecified" descendant (nearest level first: "I63" → I63.9, not I63.20; "K26" →
        K26.9 rather than K26.4; "H46" → H46.9), or its sibling naming ``side`` ("C64" + left → C64.2; "H46" + right
        stays H46.9: the sided codes there are papillitis, a different condition); "" when there is none."""
        key = (normalize_code(code), side)
        if key not in self._unspecified:
            self._unspecified[key] = self._unspecified_code(*key)
        return self._unspecified[key]

    def current_code(self, code: str) -> str:
        """The billable code of this edition for a code written against an earlier one, or as CodiEsp writes it.

        CodiEsp's gold (2018 ICD-10-CM / CIE-10-ES) drops the 7th character of injury codes ("S72.002",
        "T81.4XX" for S72.002A, T81.4XXA) and uses codes later split into children (R51 → R51.9, M54.5 → M54.50,
        T14.8 → T14.8XXA). A missing 7th character becomes A (initial encounter: the notes describe the
        presentation), with X placeholders as the tabular list writes them. A split code becomes the child that kept
        its meaning (``_residual_child``), else its default child (``default_code``: "without complications", else
        unspecified) when that is one (``_default_for``). A code this edition cannot place is returned normalised:
        R74.0 is R74.01 transaminases or R74.02 LDH, the coder's call. A non-ICD-10-CM code is returned upper-cased.
        """
        raw = code.strip().upper()
        if not re.match(r"[A-Z][0-9]", raw):  # not an ICD-10-CM code (an ICD-10-PCS one, a block range)
            return raw
        key = normalize_code(raw)
        if key not in self._current:
            self._current[key] = self._current_code(key)
        return self._current[key]

    def _current_code(self, code: str, depth: int = 0, seventh: str = "") -> str:
        if self.is_billable(code):
            return code
        flat = code.replace(".", "")
        seventh = seventh or (flat[6] if len(flat) == 7 else "A")
        for stem in dict.fromkeys((flat[:6], flat[:6].rstrip("X"))):  # "T81.4XX": T81.4 has since been split
            if len(stem) < 3:
                continue
            with_seventh = normalize_code(stem.ljust(6, "X") + seventh)
            if self.is_billable(with_seventh):
                return with_seventh
            if not self.exists(stem):
                continue
            residual = self._residual_child(stem)
            if residual and depth < 2:
                moved = self._current_code(residual, depth + 1, seventh)
                if self.is_billable(moved):
                    return moved
            pick = self.default_code(stem)
            if pick and len(pick.replace(".", "")) == 7 and self.is_billable(pick[:-1] + seventh):
                pick = pick[:-1] + seventh
            if pick and self._default_for(pick, stem):
                return pick
        return code

    def _default_for(self, pick: str, code: str) -> bool:
        """``default_code``'s pick stands for ``code`` unqualified: it adds an "unspecified" or a "without" of its
        own, or no word at all (M79.60 → M79.609 "Pain in unspecified limb"); V29.9's "unspecified traffic accident"
        is in every child, so its first, the electric bicycle, is no default. And it names no sex ``code`` did not
        (N35.9 → N35.91 male / N35.92 female is the coder's call)."""
        if len(pick.replace(".", "")) == 7 and self.exists(pick[:-1]):
            pick = pick[:-1]  # the 7th character only adds the encounter
        description, parent = self.description(pick).lower(), self.description(code).lower()
        added = set(re.findall(r"\w+", description)) - set(re.findall(r"\w+", parent))
        if {"male", "female"} & added:  # a split by sex, not a default
            return False
        return (not added or "without" in added
                or description.count("unspecified") > parent.count("unspecified"))

    def _residual_child(self, code: str) -> str:
        """The child that kept a split code's meaning: the one whose inclusion terms list the code's condition NOS
        (C90.0 → C90.00 "Multiple myeloma NOS", K83.0 → K83.09 "Cholangitis NOS"), else the one that kept its
        title (K59.8 → K59.89, H57.8 → H57.89), else the only one saying it is that title unspecified (M54.5 → M54.50
        "Low back pain, unspecified", A04.7 → A04.72 "..., not specified as recurrent"), else the only "Other
        [specified] <title>" (I31.3 → I31.39, D48.1 → D48.19); "" when none did."""
        item = self.get(code)
        if item is None:
            return ""
        title, nos = _plain_title(item.description), _plain_title(f"{item.description} NOS")
        children = [(child, _plain_title(self.codes[child].description)) for child in item.children]
        for child, _ in children:
            if any(_plain_title(term) == nos for term in self.codes[child].notes.inclusion_terms):
                return child
        for child, words in children:
            if words == title:
                return child
        unspecified = [child for child, words in children
                       if any(words in (f"{title} {w}", f"{w} {title}") or words.startswith(f"{title} {w} ")
                              for w in ("unspecified", "not specified"))]
        other = [child for child, words in children if words in (f"other {title}", f"other specified {title}")]
        return next((found[0] for found in (unspecified, other) if len(found) == 1), "")

    def default_code(self, code: str) -> str:
        """The billable code an index entry gives for a bare category term, when no coded notes say what coders
        use: a nearest-level "without complications" code ("Type 2 diabetes mellitus" → E11.9, as the index's
        "Diabetes, type 2"), else ``unspecified_code`` (E11 alone would give E11.8 "with unspecified
        complications")."""
        if self.is_billable(code):
            return normalize_code(code)
        item = self.get(code)
        children = [c for c in (item.children if item else []) if self.is_billable(c)]
        plain = [c for c in children if "without complication" in self.description(c).lower()
                 or "not specified as" in self.description(c).lower()]  # A04.72 "..., not specified as recurrent"
        return min(plain) if plain else self.unspecified_code(code)

    def _unspecified_code(self, code: str, side: str) -> str:
        options = self.billable_descendants(code)
        if len(options) <= 1:
            return options[0] if options else ""

        def vagueness(c: str) -> tuple[int, int, int, bool, str]:
            return (len(self.ancestors(c)), -self.description(c).lower().count("unspecified"), len(c),
                    not c.endswith("9"), c)

        def names_side(c: str) -> bool:
            return side in self.description(c).lower().replace(",", " ").split()

        unspecified = [c for c in options if "unspecified" in self.description(c).lower()]
        if not unspecified:
            sided = [c for c in options if side and names_side(c)]
            return min(sided, key=vagueness) if sided else ""
        pick = min(unspecified, key=vagueness)
        if side:
            parent = self.codes[pick].parent
            sided = [c for c in options if self.codes[c].parent == parent and names_side(c)]
            if sided:
                return min(sided, key=vagueness)
        return pick

    def category(self, code: str) -> str:
        item = self.get(code)
        while item and item.kind not in ("category", "block", "chapter"):
            item = self.codes.get(item.parent or "")
        return item.code if item and item.kind == "category" else normalize_code(code)[:3]

    def chapter_of(self, code: str) -> str:
        item = self.get(code)
        if item is None:
            item = self.get(normalize_code(code)[:3])
        return item.chapter if item else ""

    def inherited_notes(self, code: str) -> InstructionalNotes:
        """The code's own notes plus those of every ancestor (own first, chapter last)."""
        key = normalize_code(code)
        if key in self._inherited:
            return self._inherited[key]
        item = self.codes.get(key)
        if item is None:
            return InstructionalNotes()
        merged = copy.deepcopy(item.notes)
        for ancestor in self.ancestors(key):
            notes = self.codes[ancestor].notes
            for name in INHERITED_FIELDS:
                target = getattr(merged, name)
                target.extend(text for text in getattr(notes, name) if text not in target)
            if not merged.seven_chr_def and notes.seven_chr_def:
                merged.seven_chr_def = dict(notes.seven_chr_def)
                merged.seven_chr_note = notes.seven_chr_note
        self._inherited[key] = merged
        return merged

    def chapters(self) -> list[Code]:
        return [item for item in self.codes.values() if item.kind == "chapter"]
