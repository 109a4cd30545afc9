"""Index navigation: the alphabetical index's "with", "in", "due to" subterms turned into combination codes.

A coder who finds "Hypertension" and "chronic kidney disease" in one note follows Hypertension > with > kidney
involvement > see Hypertension, kidney > with > stage 1 through stage 4 chronic kidney disease → I12.9: the index links
the two conditions even when the provider did not (ICD-10-CM I.A.15). This module does the same over the conditions a
note's coding run decided: a **head** is a coded condition whose category has an index entry with such subterms; a
subterm is satisfied by another coded condition (its words, the category its words link to, a CKD stage in range) or,
for modifiers that are not conditions ("with decompensation"), by its words in the head's sentence. The walk follows
"see" references and nested subterms, and keeps the deepest code of each branch; a branch whose partners another
branch covers is dropped (I13.0 for hypertension with heart failure and CKD, not I11.0 as well).

Requirements are computed once from the index and the English dictionary and cached; navigation reads codes, so it
serves Spanish notes as well (CIE-10-ES shares the index structure).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from core.candidates.linker import DictionaryLinker
from core.kb.index import AlphabeticIndex, IndexTerm
from core.kb.tabular import Tabular, normalize_code
from core.nlp.textnorm import term_key

NAVIGATOR_VERSION = "7"
# "due to" subterms need the note to state the cause; "with" and "in" are presumed (I.A.15).
CONNECTORS = ("with", "in", "associated with")
NEGATIVE = "without"
GENERIC_WORDS = {"involvement", "disease", "disorder", "condition", "complication", "type", "nec", "nos", "specified",
                 "unspecified", "other", "manifestation", "multiple"}
GENERIC_STEMS = frozenset(s for word in GENERIC_WORDS for s in term_key(word, "en")) | GENERIC_WORDS
MAX_DEPTH = 6
# Conditions whose "with" subterms the guidelines presume wherever in the record the other condition is written
# (I.C.4.a diabetes, I.C.9.a hypertension; COPD with a lower respiratory infection, CAD with angina, gallstones with
# cholecystitis, esophageal varices in cirrhosis or portal hypertension are one patient's linked conditions too); other
# "with" links are taken when the note writes them together (every category note-wide was measured: CodiEsp es
# 0.602 → 0.583, long case reports link unrelated ones).
PRESUMED_NOTE_WIDE = ("E08", "E09", "E10", "E11", "E13", "I10", "I11", "I12", "I13", "I15", "I20", "I25", "J44", "K80",
                      "K81", "I85", "K70", "K74")
# Subterms too general to presume a link from: they name a class of conditions, not one.
_GENERIC_SUBTERM = re.compile(r"\b(?:nec|nos|classified elsewhere|other|specified|unspecified)\b|^(?:infection|disease|"
                              r"disorder|complications?|manifestations?|conditions?|lesion|symptoms?)$")
_CLASS_WORDS = re.compile(r"\b(?:symptoms?|disorders?|diseases?|conditions?|complications?|infections?|lesions?)\b")
_STAGE_RANGE = re.compile(r"stage\s+(\d)\s+(?:through|to|-)\s+stage\s+(\d)")
_STAGE = re.compile(r"stage\s+(\d)")
_NOT_SYSTEMIC_HYPERTENSION = ("I27", "K76.6", "H40.0", "G93.2", "G93.81")
_OPPOSITE_STEMS = (("chronic", "acut"), ("acut", "chronic"))
# The CKD stage a code names (N18.30-N18.32 are stage 3); N18.9 names none.
CKD_STAGES = {"N18.1": 1, "N18.2": 2, "N18.30": 3, "N18.31": 3, "N18.32": 3, "N18.4": 4, "N18.5": 5, "N18.6": 6}


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a subterm asks of the note's other conditions."""

    text: str  # as printed, e.g. "stage 1 through stage 4 chronic kidney disease"
    stems: frozenset[str]  # its content words, generic words left out
    categories: frozenset[str]  # categories of the codes its words link to in the dictionary
    organ_only: bool  # "kidney involvement", "heart disease": any condition of that organ
    stages: tuple[int, ...] = ()  # CKD stages it covers ("end stage" is 6); () for no stage constraint
    negative: bool = False  # "without heart failure"
    allowed: tuple[tuple[str, str], ...] = ()  # codes its nonessential words name ("conditions in I50.- or I51.4-")
    codes: frozenset[str] = frozenset()  # the codes its words link to (and the categories of a class of conditions)

    def satisfied_by(self, condition: Condition) -> int:
        """How well ``condition`` satisfies this subterm: 4 the note's own words, 3 its code's title, 2 category and
        words, 1 category, 0 not."""
        if self.stages and condition.stage not in self.stages and not (condition.stage == 0 and 4 in self.stages):
            return 0  # an unstaged CKD reads as the stage 1-4 entry (I12.9), never as stage 5
        if self.allowed and not any(_in_range(condition.code, ref) for ref in self.allowed):
            return 0  # Hypertension > heart involvement is for the heart conditions the index names, not CAD
        if not self.stems or any(a in self.stems and b in condition.words and a not in condition.words
                                 for a, b in _OPPOSITE_STEMS):
            return 0  # "chronic cholecystitis" is not satisfied by K81.0 "Acute cholecystitis"
        if self.organ_only:
            return 2 if self.stems & condition.words else 0
        if any(w.startswith(("hypertens", "hipertens")) for w in self.stems) and condition.code.startswith(_NOT_SYSTEMIC_HYPERTENSION):
            return 0  # pulmonary, portal, ocular or intracranial hypertension is not the hypertension of I11-I13
        if self.stems <= condition.said:
            return 4
        if self.stems <= condition.words:
            return 3
        if self.categories & {condition.category}:
            if self.stems & condition.words:
                return 2
            if condition.category in ("B95", "B96", "B97"):
                return 0  # one organism is not another of its category (Pseudomonas B96.5 is no "Escherichia coli")
            # A category's residual "Other ..." code is no particular condition of it: "neuralgia" (M79.2) is not
            # "swelling of limb" (M79.89, Other specified soft tissue disorders).
            if "other" in condition.words and not _CLASS_WORDS.search(self.text.lower()):
                return 1 if any(condition.code.startswith(c) or c.startswith(condition.code) for c in self.codes) else 0
            return 1
        return 0


@dataclass(frozen=True, slots=True)
class Condition:
    """A coded condition of the note, as the navigator sees it."""

    code: str
    words: frozenset[str]  # stems of its code's description and of the terms that found it
    spans: tuple[tuple[int, int], ...]  # evidence in the note
    said: frozenset[str] = frozenset()  # stems of the note's own words for it (what the clinician wrote)
    partner_only: bool = False  # a condition the note states but the coding left for review: never a head

    @property
    def category(self) -> str:
        return self.code[:3]

    @property
    def stage(self) -> int:
        return CKD_STAGES.get(self.code, 0)


@dataclass
class Combination:
    code: str
    head: Condition
    partners: list[Condition]
    path: list[str]
    quality: int = 0
    loose: frozenset[str] = frozenset()  # partners only an organ's "involvement" subterm took (a CAD under "heart")

    @property
    def involved(self) -> frozenset[str]:
        return frozenset({self.head.code, *(c.code for c in self.partners)})

    @property
    def rationale(self) -> str:
        return " > ".join(self.path) + f" → {self.code}"


@dataclass
class NavigatorTable:
    """What the index's subterms ask, computed once (cached on disk with the index's key)."""

    requirements: dict[int, Requirement]  # subterm node id → what it asks
    heads: dict[str, list[int]]  # code category → index entries with subterms to follow
    history: dict[str, int] = field(default_factory=dict)  # "personal" / "family" → the History entry
    modifiers: dict[int, frozenset[str]] = field(default_factory=dict)  # plain subterm under a linked one → stems

    @classmethod
    def build(cls, index: AlphabeticIndex, linker: DictionaryLinker) -> NavigatorTable:
        requirements: dict[int, Requirement] = {}
        heads: dict[str, list[int]] = {}
        for term in index.terms:
            if term.source != "cms-index":
                continue
            subterms = list(_subterms(index, term))
            if not subterms:
                continue
            code = _target_code(index, term)
            if code and not _inside_connector(term):
                heads.setdefault(code[:3], []).append(term.id)
            for node, connector in subterms:
                if node.id not in requirements:
                    requirements[node.id] = _requirement(node, connector, linker)
        modifiers: dict[int, frozenset[str]] = {}
        for node_id in list(requirements):
            stack = list(index.children(index.get(node_id)))
            while stack:
                child = stack.pop()
                text = child.path[-1].strip().lower()
                if text in CONNECTORS or text.split(" ")[0] in (*CONNECTORS, NEGATIVE):
                    continue
                stems = frozenset(term_key(child.path[-1], "en"))
                if stems and not _GENERIC_SUBTERM.search(text):
                    modifiers[child.id] = stems
                stack.extend(index.children(child))
        history: dict[str, int] = {}
        for kind in ("personal", "family"):
            root = index.find("History", kind)
            if root is None:
                continue
            history[kind] = root.id
            stack = list(index.children(root))
            while stack:
                node = stack.pop()
                requirements.setdefault(node.id, _requirement(node, "", linker))
                stack.extend(index.children(node))
        return cls(requirements, heads, history, modifiers)


@dataclass
class IndexNavigator:
    """The "with" structure of the alphabetical index, ready to walk."""

    index: AlphabeticIndex
    table: NavigatorTable

    @property
    def requirements(self) -> dict[int, Requirement]:
        return self.table.requirements

    @property
    def heads(self) -> dict[str, list[int]]:
        return self.table.heads

    # -- history ----------------------------------------------------------------------------------------------------
    def history_code(self, kind: str, condition: Condition, tabular: Tabular,
                     block: bool = False) -> Combination | None:
        """The History, personal / family (of) entry a condition of the past, or of a relative, is coded with:
        the best-satisfied subterm, then its subterms while one is satisfied (History > personal > malignant
        neoplasm > colon → Z85.038). A personal history needs a specific entry (its words or category): a chronic
        condition listed in a history has none ("History of HTN" stays I10), and the generic "disease or disorder"
        entries are for relatives only."""
        root_id = self.table.history.get(kind)
        if root_id is None:
            return None
        node = self.index.get(root_id)
        path = [_title(node)]
        quality = 0
        best: tuple[str, list[str], int] | None = None
        for depth in range(MAX_DEPTH):
            choice: tuple[int, int, IndexTerm] | None = None
            for child in self.index.children(node):
                requirement = self.requirements.get(child.id)
                if requirement is None:
                    continue
                generic = {"disease", "disorder", "specified", "nec"} & set(child.path[-1].lower().replace(",", " ").split())
                if kind == "personal" and generic and depth == 0:
                    continue
                score = requirement.satisfied_by(condition)
                wanted = requirement.stems - _absent_stems(child.path[-1])  # "without residual deficits": the default
                if score == 2 and kind == "personal" and 2 * len(wanted & condition.words) < len(wanted):
                    continue  # one shared word and the category: "diabetic nephropathy" is no "diabetic foot ulcer"
                if not requirement.stems:  # "disease or disorder": a grouping, read through to its subterms
                    score = max((self.requirements[g.id].satisfied_by(condition) for g in self.index.children(child)
                                 if g.id in self.requirements), default=0)
                if score and (choice is None or (score, len(requirement.stems)) > choice[:2]):
                    choice = (score, len(requirement.stems), child)
            if choice is None:
                break
            node = choice[2]
            if not node.target_code and node.see:
                node = self.index.resolve(node.see, exact=True) or node
            path.append(node.path[-1])
            quality += choice[0]
            code = _target_code(self.index, node)
            if code:
                best = (code, list(path), quality)
        if best is None and kind == "family" and not block:
            # A relative's condition the family entries name only by its block ("father had MI": I21 is in the block
            # "Ischemic heart diseases (I20-I25)" → "disease or disorder > ischemic heart" Z82.49), else by its
            # chapter ("mother with Graves disease": "Endocrine ... diseases" → "endocrine NEC" Z83.49).
            groups = [a for a in tabular.ancestors(condition.code) if "-" in a or a.isdigit()]
            for group in groups[:1] + groups[-1:]:
                title = re.sub(r"\(.*?\)", "", tabular.description(group)).replace("nervous", "neurological nervous")
                words = frozenset(term_key(title, "en"))
                found = self.history_code(kind, replace(condition, words=condition.words | words), tabular, True) \
                    if words else None
                if found is not None:
                    return found
        if best is None or (kind == "personal" and best[2] < 2):
            return None
        code = best[0] if tabular.is_billable(best[0]) else tabular.default_code(best[0])
        return Combination(code, condition, [], best[1], best[2]) if code else None

    # -- walking ----------------------------------------------------------------------------------------------------
    def combinations(
        self, conditions: Sequence[Condition], sentence_words: dict[str, frozenset[str]], tabular: Tabular,
        together: Callable[[Condition, Condition], bool] = lambda a, b: True,
        denied: dict[str, frozenset[str]] | None = None,
    ) -> list[Combination]:
        """Every combination code the index gives for ``conditions`` (coded, present), best branch per head.
        ``sentence_words``: code → stems of the sentences its evidence is in (for modifier subterms); ``denied``:
        code → stems those sentences deny (no walk starts from a main term the note denies)."""
        found: dict[str, Combination] = {}
        for head in conditions:
            if head.partner_only:
                continue
            refused = (denied or {}).get(head.code, frozenset())
            for term_id in self.heads.get(head.category, ()):
                term = self.index.get(term_id)
                target = _target_code(self.index, term)
                if not target or not _heads(target, head.code, tabular):
                    continue  # "Disease, end stage renal" (N18.6) is no head for a stage 3 CKD
                main = term_key(term.path[0].split(",")[0], "en")
                if refused and main and set(main) <= refused and not set(main) & (head.said | head.words):
                    continue  # "appendicitis ... no gangrene": "Gangrene, appendix" is no way in
                others = [c for c in conditions if c.code != head.code and not _same_evidence(c, head)
                          and not (c.code[:3] == head.code[:3] and is_vague(c.code, tabular))  # M10.00 is no partner of M10.9
                          and (head.category in PRESUMED_NOTE_WIDE or together(head, c))]
                for combo in self._walk(term, head, others, sentence_words.get(head.code, frozenset()), tabular,
                                        refused):
                    current = found.get(combo.code)
                    if current is None or (len(combo.involved), combo.quality) > (len(current.involved), current.quality):
                        found[combo.code] = combo
        return _undominated(list(found.values()))

    def _walk(self, term: IndexTerm, head: Condition, others: list[Condition], near: frozenset[str],
              tabular: Tabular, refused: frozenset[str] = frozenset()) -> list[Combination]:
        results: list[Combination] = []

        def visit(node: IndexTerm, partners: tuple[Condition, ...], path: tuple[str, ...], quality: int,
                  depth: int, seen: frozenset[int], jumped: bool, named: bool = False,
                  loose: frozenset[str] = frozenset()) -> None:
            # Past a "see" the walk stands on another main term, whose subterms may name the head itself
            # (Heart failure > hypertension > see Hypertension, heart > with heart failure).
            pool = [*others, head] if jumped else others
            satisfied: list[tuple[IndexTerm, Condition | None, int]] = []
            for sub, _ in _subterms(self.index, node):
                requirement = self.requirements.get(sub.id)
                if requirement is None or depth >= MAX_DEPTH:
                    continue
                if not requirement.negative and requirement.stems & refused - near and \
                        not re.match(r"(?:without|not|no)\b", requirement.text.lower()):
                    continue  # "no abscess": the subterm "peritoneal abscess" is denied, whatever partner it finds
                partner, score = _partner(requirement, pool if not requirement.negative else [*others, head], near)
                if partner is not None and partner is not head and partner.category == head.category and score < 3:
                    continue  # another code of the head's own category (alcohol dependence) is no "alcohol
                    # intoxication" unless its words say so: a category match invents a complication (F10.129)
                if partner is not None and partner is not head and requirement.stages and \
                        _target_code(self.index, sub) == partner.code:
                    continue  # the staged combination itself, coded from other words ("hypertensive
                    # nephrosclerosis" I12.9), is no partner of its own entry: an ESRD beside it still reaches I12.0
                if score:
                    satisfied.append((sub, partner, score))
            deeper = False
            for child in self._groupings(node, near | head.words, seen):
                # A grouping subterm whose words the note or the head's title gives ("native vessel" under
                # "Arteriosclerosis, coronary": I25.10 is "... of native coronary artery") leads to its "with" entries.
                deeper = True
                visit(child, partners, (*path, child.path[-1]), quality, depth + 1, seen | {child.id}, jumped, named,
                      loose)
            for sub, partner, score in _best_per_partner(satisfied):
                target = sub
                if not sub.target_code and sub.see:
                    target = self.index.resolve(sub.see, exact=True) or sub
                if target.id in seen:
                    continue
                requirement = self.requirements[sub.id]
                step = requirement.text + (f" (see {sub.see})" if target is not sub else "")
                new_partners = partners + ((partner,) if partner is not None and partner not in partners
                                           and partner is not head else ())
                deeper = True
                took = {partner.code} if partner is not None and partner not in partners else set()
                visit(target, new_partners, (*path, step), quality + score, depth + 1, seen | {target.id},
                      jumped or target is not sub, named or not requirement.organ_only,
                      loose | (took if requirement.organ_only else set()))
            if not deeper and partners and depth >= 1:
                # Past a linked subterm, its own modifiers the note writes: "with cholecystitis" > "acute" (K80.00).
                words = near | frozenset().union(*(p.said | p.words for p in partners))
                for child in self.index.children(node):
                    stems = self.table.modifiers.get(child.id)
                    if stems and stems <= words and child.id not in seen and _target_code(self.index, child):
                        deeper = True
                        visit(child, partners, (*path, child.path[-1]), quality + 1, depth + 1, seen | {child.id},
                              jumped, named, loose)
            code = _target_code(self.index, node)
            # "kidney involvement" alone (an AKI, a cyst) is no combination: the walk must reach a subterm that names
            # the partner (stage 1 through stage 4 chronic kidney disease, heart failure).
            if not deeper and partners and code and named:
                billable = code if tabular.is_billable(code) else tabular.default_code(code)
                if billable:
                    results.append(Combination(billable, head, list(partners), list(path), quality, loose))

        visit(term, (), (_title(term),), 0, 0, frozenset({term.id}), False)
        return results

    def _groupings(self, node: IndexTerm, words: frozenset[str], seen: frozenset[int]) -> list[IndexTerm]:
        """Plain children of ``node`` with no code of their own that only group "with" entries, and share a word
        with ``words``."""
        found = []
        for child in self.index.children(node):
            text = child.path[-1].strip().lower()
            if child.id in seen or child.target_code or child.see or text in CONNECTORS \
                    or text.split(" ")[0] in (*CONNECTORS, NEGATIVE):
                continue
            if frozenset(term_key(text, "en")) & words and next(iter(_subterms(self.index, child)), None):
                found.append(child)
        return found


def _best_per_partner(
    satisfied: list[tuple[IndexTerm, Condition | None, int]],
) -> list[tuple[IndexTerm, Condition | None, int]]:
    """Of the sibling subterms one partner satisfies, the best (the note's own words over a category match; a named
    entry over its "NEC" sibling): "neuropathy" gives E11.40, "polyneuropathy" E11.42, never both."""
    best: dict[int, tuple[int, int]] = {}
    for sub, partner, score in satisfied:
        rank = (score, 0 if "nec" in sub.path[-1].lower().split() else 1)
        key = id(partner)
        if key not in best or rank > best[key]:
            best[key] = rank
    return [(sub, partner, score) for sub, partner, score in satisfied
            if (score, 0 if "nec" in sub.path[-1].lower().split() else 1) == best[id(partner)]]


def _subterms(index: AlphabeticIndex, term: IndexTerm) -> Iterable[tuple[IndexTerm, str]]:
    """(subterm, connector) for every child of ``term`` that links another condition: the children of a "with" /
    "in" / "due to" entry, and children written "with X", "without X"."""
    for child in index.children(term):
        text = child.path[-1].strip().lower()
        if text in CONNECTORS:
            for grandchild in index.children(child):
                yield grandchild, text
            continue
        for connector in (*CONNECTORS, NEGATIVE):
            if text.startswith(connector + " ") and len(text) > len(connector) + 2:
                yield child, connector
                break


def _inside_connector(term: IndexTerm) -> bool:
    """An entry under a "with" / "in" subterm (Diabetes > with > retinopathy > proliferative) is part of a
    combination, not the plain condition a walk starts from."""
    return any(piece.strip().lower().split(" ")[0] in ("with", "in", "without", "due") for piece in term.path[1:])


def _requirement(node: IndexTerm, connector: str, linker: DictionaryLinker) -> Requirement:
    text = node.path[-1].strip()
    lowered = text.lower()
    negative = lowered.startswith(NEGATIVE + " ")
    for prefix in (NEGATIVE, *CONNECTORS):
        if lowered.startswith(prefix + " "):
            text = text[len(prefix) + 1 :]
            lowered = text.lower()
            break
    stems = frozenset(s for s in term_key(text, "en") if s not in GENERIC_STEMS and not s.isdigit())
    words = set(re.findall(r"[a-z]+", lowered))
    organ_only = bool(words & {"involvement", "disease", "disorder", "condition"}) and len(stems) == 1
    codes: set[str] = set()
    for match in linker.find(text):
        rule = linker.rules.get(match.key)
        if rule is not None:
            codes |= {normalize_code(code) for code in rule.codes}
    stages: tuple[int, ...] = ()
    if "kidney" in lowered or "renal" in lowered:
        if "end stage" in lowered or "esrd" in lowered:
            stages = (5, 6)
        span = _STAGE_RANGE.search(lowered)
        if span:
            stages = tuple(range(int(span.group(1)), int(span.group(2)) + 1))
        elif _STAGE.search(lowered) and not stages:
            stages = (int(_STAGE.search(lowered).group(1)),)
            stages = (5, 6) if stages == (5,) else stages
        elif "stage 5" in lowered:
            stages = (5, 6)
    codes |= _class_categories(text)
    categories = {code[:3] for code in codes}
    allowed = tuple(_code_ranges(node.nonessential))
    return Requirement(text, stems, frozenset(categories), organ_only, stages, negative, allowed, frozenset(codes))


_CODE_RANGE = re.compile(r"\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(?:\s*-\s*([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)|\.?-)?")


# Subterms naming a class of conditions whose codes no single term gives: the categories the class covers.
SUBTERM_CLASSES = {
    "lower respiratory infection": (("J09", "J22"),),
    "acute lower respiratory infection": (("J09", "J22"),),
    "upper respiratory infection": (("J00", "J06"),),
}


def _class_categories(text: str) -> set[str]:
    found: set[str] = set()
    for first, last in SUBTERM_CLASSES.get(re.sub(r"\s*\([^)]*\)", "", text.lower()).strip(), ()):
        found |= {f"{first[0]}{n:02d}" for n in range(int(first[1:]), int(last[1:]) + 1)}
    return found


def _code_ranges(text: str) -> list[tuple[str, str]]:
    return [(normalize_code(m.group(1)), normalize_code(m.group(2)) if m.group(2) else "")
            for m in _CODE_RANGE.finditer(text or "")]


def _in_range(code: str, reference: tuple[str, str]) -> bool:
    first, last = reference
    if not last:
        return code.startswith(first)
    return first <= code[: len(first)] and code[: len(last)] <= last


def _generic_subterm(text: str) -> bool:
    """A subterm that names no particular condition ("specified NEC", "other", "disease"); "peritonitis NEC" names
    peritonitis."""
    named = re.fullmatch(r"([a-z]+) nec", text.lower().strip())
    if named and not _CLASS_WORDS.search(named.group(1)) and not _GENERIC_SUBTERM.search(named.group(1)):
        return False
    return bool(_GENERIC_SUBTERM.search(text.lower()))


def _partner(requirement: Requirement, others: list[Condition], near: frozenset[str]) -> tuple[Condition | None, int]:
    """The condition that satisfies a subterm best (None with a positive score for a modifier written next to the
    head, or for a "without" subterm no condition satisfies)."""
    if requirement.negative:
        return None, (0 if any(requirement.satisfied_by(c) for c in others) else 1)
    best: tuple[Condition | None, int] = (None, 0)
    if _generic_subterm(requirement.text):
        return best
    for condition in others:
        score = requirement.satisfied_by(condition)
        if score > best[1]:
            best = (condition, score)
    if best[1] == 0 and requirement.stems and not requirement.stages and requirement.stems <= near:
        return None, 2  # a modifier in the head's own sentence ("with decompensation", "with hyperglycemia")
    return best


def _absent_stems(title: str) -> frozenset[str]:
    """The words a subterm says are absent ("stroke without residual deficits"): a note rarely writes them."""
    _, without, absent = title.lower().partition("without ")
    return frozenset(term_key(absent, "en")) if without else frozenset()


def _target_code(index: AlphabeticIndex, term: IndexTerm) -> str:
    if term.target_code:
        return term.target_code
    if term.see:
        target = index.resolve(term.see, exact=True)
        if target is not None and target.target_code:
            return target.target_code
    return ""


def _title(term: IndexTerm) -> str:
    return ", ".join(term.path)


def _same_evidence(a: Condition, b: Condition) -> bool:
    return bool(set(a.spans) & set(b.spans))


def _undominated(combinations: list[Combination]) -> list[Combination]:
    """Drop a combination whose conditions another combination covers with more (hypertension with heart failure
    I11.0 inside hypertension with heart failure and CKD I13.0), and of two over the same conditions, the weaker."""
    kept = []
    for combo in combinations:
        dominated = any(
            other is not combo and (combo.involved < other.involved
                                    or (combo.involved == other.involved and other.quality > combo.quality))
            for other in combinations
        )
        if not dominated:
            kept.append(combo)
    return kept


def _heads(target: str, code: str, tabular: Tabular) -> bool:
    """An index entry whose code is ``target`` starts a walk for a coded ``code``: it is that code, its category,
    or the code a bare mention of the category gets ("Diabetes, type 2" E11.9 for E11.65; "Failure, heart" I50.9
    for I50.23), never another specific code of the category ("Alcohol, amnestic disorder" F10.96 for F10.10)."""
    if target == code or not tabular.is_billable(target) and code.startswith(target.replace(".", "")[:3]) and len(
            target) <= 3:
        return True
    category = code[:3]
    return target in (tabular.default_code(category), tabular.unspecified_code(category))


def is_vague(code: str, tabular: Tabular) -> bool:
    """A code that names a condition without its type, stage, side or complication: not billable (a category), or
    titled "unspecified", "not specified" or "without complications" (E11.9, I50.9, L03.90, N39.0)."""
    if not tabular.is_billable(code):
        return True
    title = tabular.description(code).lower()
    return "unspecified" in title or "not specified" in title or "without complications" in title
