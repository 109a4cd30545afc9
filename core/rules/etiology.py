"""Etiology / manifestation pairs and the index's "due to" and postprocedural subterms.

A coder who reads "Alzheimer's disease with dementia; agitation" looks up Dementia > in > Alzheimer's disease, which
sends to Disease, Alzheimer's (G30.9, see also Dementia, in, diseases specified elsewhere); the see-also entry gives
the manifestation F02.80 and its "with" subterms the behaviour the note describes (agitation → F02.811). Both are
coded, the etiology first (I.A.13). Likewise "delirium due to a UTI" is Delirium > due to > general medical condition
(F05) plus the UTI, and "hypothyroidism following thyroidectomy" is Hypothyroidism > postsurgical (E89.0), not E03.9.
Everything is read from the alphabetical index and the tabular list; a Spanish note's words go through the short
word list of ``data/conventions/etiology.toml``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from core.candidates.navigator import IndexNavigator
from core.kb.index import AlphabeticIndex, IndexTerm
from core.kb.tabular import Tabular
from core.nlp.textnorm import term_key, tokenize
from core.rules.worklist import NEGATED, Entry, Worklist
from core.schema import Span
from core.settings import PROJECT_ROOT

WORDS_FILE = PROJECT_ROOT / "data" / "conventions" / "etiology.toml"
SEVERITY_FILE = PROJECT_ROOT / "data" / "conventions" / "excludes1.toml"
_CONNECTORS = ("with", "in", "due to")
# Words of a subterm that name no particular condition: left out when the note's words are matched to it.
_SUBTERM_FILLERS = frozenset(term_key("disease diseases type nec specified unspecified other or of the", "en"))
_CLASS_SUBTERM = re.compile(r"\b(?:general medical|known physiological|physiological) condition\b")
_CAUSE = {"en": re.compile(r"\b(?:due to|secondary to|caused by|because of|from)\b", re.IGNORECASE),
          "es": re.compile(r"\b(?:debid[oa] a|secundari[oa] a|causad[oa] por|por)\b", re.IGNORECASE)}


@lru_cache(maxsize=2)
def _words(path: Path = WORDS_FILE) -> dict:
    with path.open("rb") as handle:
        return tomllib.load(handle)


@lru_cache(maxsize=512)
def english(text: str, language: str) -> frozenset[str]:
    """Stems of ``text`` as the English index reads them (a Spanish word through the word list, else itself)."""
    text = re.sub(r"(?<=\w)-(?=\w)", " ", text)  # "late-onset" is the subterm "late onset"
    if language == "en":
        return frozenset(term_key(text, "en"))
    table = _words().get(language, {}).get("words", {})
    words = [table.get(t.norm, t.norm) for t in tokenize(text, language) if not t.is_stop or t.norm in table]
    return frozenset(term_key(" ".join(words), "en"))


def _stems(text: str) -> frozenset[str]:
    return frozenset(term_key(re.sub(r"\([^)]*\)", " ", text), "en")) - _SUBTERM_FILLERS


def _alternatives(text: str) -> list[frozenset[str]]:
    """A subterm's content stems, one set per alternative ("Huntington's disease or chorea")."""
    found = [_stems(part) for part in re.split(r"\bor\b", text)]
    return [stems for stems in found if stems]


def _modifiers(term: IndexTerm) -> frozenset[str]:
    """Stems of a subterm's nonessential modifiers, any of which names it ("(pacing) (restlessness)")."""
    return frozenset(term_key(" ".join(re.findall(r"\(([^)]*)\)", term.nonessential or "")), "en"))


@dataclass
class EtiologyTable:
    """What the index says about manifestations and causes, computed once per index."""

    # main-term id (Dementia) → (its subterm naming a cause, the manifestation entry the cause sends to)
    manifestations: dict[int, list[tuple[IndexTerm, IndexTerm]]] = field(default_factory=dict)
    causes: dict[str, list[IndexTerm]] = field(default_factory=dict)  # code → main terms with due-to / post subterms
    residual: dict[str, list[IndexTerm]] = field(default_factory=dict)  # "Other ..." code → main terms giving it


_TABLES: dict[int, EtiologyTable] = {}


def _root(index: AlphabeticIndex, term: IndexTerm) -> IndexTerm:
    while term.parent_id is not None:
        term = index.get(term.parent_id)
    return term


def etiology_table(index: AlphabeticIndex, tabular: Tabular) -> EtiologyTable:
    """Manifestation entries (a see-also target whose code the tabular list says to code after its cause), the
    subterms of their main term that name a cause, and the entries whose "due to" / "post..." subterms recode."""
    if id(index) in _TABLES:
        return _TABLES[id(index)]
    table = EtiologyTable()
    targets: dict[str, IndexTerm | None] = {}
    for term in index.terms:
        if term.source != "cms-index":
            continue
        if term.see_also and term.see_also not in targets:
            found = index.resolve(term.see_also, exact=True)
            code = found.target_code if found is not None else ""
            ok = found is not None and code and tabular.exists(code) and tabular.inherited_notes(code).code_first
            targets[term.see_also] = found if ok else None
        if len(term.path) == 1 and term.target_code and term.children and tabular.description(
                term.target_code).lower().startswith("other"):
            table.residual.setdefault(term.target_code, []).append(term)
        if len(term.path) == 1 and term.target_code:
            children = [c.path[-1].strip().lower() for c in index.children(term)]
            if "due to" in children or any(c.startswith(("postprocedural", "postsurgical")) for c in children):
                table.causes.setdefault(term.target_code, []).append(term)
    for target in {t.id: t for t in targets.values() if t is not None}.values():
        root = _root(index, target)
        table.manifestations.setdefault(root.id, [])
        stack = [(c, 1) for c in index.children(root)]
        while stack:
            node, depth = stack.pop()
            text = node.path[-1].strip().lower()
            if text in _CONNECTORS:
                stack.extend((c, depth) for c in index.children(node))
                continue
            if node.id == target.id or depth > 2:
                continue
            reached = index.resolve(node.see, exact=True) if node.see and not node.target_code else node
            if reached is not None and reached.see_also and targets.get(reached.see_also) is target:
                table.manifestations[root.id].append((node, target))
    _TABLES[id(index)] = table
    return table


def _affirmed(work: Worklist, start: int, end: int) -> tuple[str, frozenset[str]]:
    """The words of a sentence, what it negates left out, and their English stems."""
    text = NEGATED.sub(" ", work.analysis.text[start:end])
    return text, english(text, work.analysis.language)


def _billable(code: str, tabular: Tabular) -> str:
    return code if tabular.is_billable(code) else tabular.default_code(code)


def _refine(index: AlphabeticIndex, node: IndexTerm, words: frozenset[str], tabular: Tabular,
            depth: int = 0) -> tuple[IndexTerm, frozenset[str]]:
    """The deepest subterm of ``node`` (through "with") whose words, or one of its nonessential modifiers, the
    sentence has ("late onset" → G30.1; "with > agitation" → F02.811), and the stems it used."""
    best: tuple[int, IndexTerm, frozenset[str]] | None = None
    for child in index.children(node):
        text = child.path[-1].strip().lower()
        if text in _CONNECTORS:
            inner, used = _refine(index, child, words, tabular, depth + 1)
            if inner is not child and (best is None or len(used) > best[0]):
                best = (len(used), inner, used)
            continue
        if "behavioral disturbance" in text or text.startswith(("without", "specified")):
            continue
        used = next((s for s in _alternatives(text) if s <= words), frozenset()) or (_modifiers(child) & words)
        if used and _target(index, child) and (best is None or len(used) > best[0]):
            deeper, more = _refine(index, child, words, tabular, depth + 1)
            best = (len(used | more), deeper, used | more)
    if best is None:
        return node, frozenset()
    return best[1], best[2]


def _named(index: AlphabeticIndex, node: IndexTerm, words: frozenset[str], depth: int = 0) -> frozenset[str]:
    """The sentence's stems that any subterm of ``node`` names (its words or a nonessential modifier)."""
    found: set[str] = set()
    for child in index.children(node) if depth < 4 else []:
        found |= {w for s in _alternatives(child.path[-1]) if s <= words for w in s} | (_modifiers(child) & words)
        found |= _named(index, child, words, depth + 1)
    return frozenset(found)


def _target(index: AlphabeticIndex, node: IndexTerm) -> str:
    if node.target_code:
        return node.target_code
    if node.see:
        found = index.resolve(node.see, exact=True)
        return found.target_code if found is not None else ""
    return ""


def _in(entry: Entry, start: int, end: int) -> bool:
    return bool(entry.spans) and all(start <= s and e <= end for s, e in entry.spans)


_SEVERITY_STEMS = frozenset({"mild", "moder", "sever"})


def _foreign_severity(work: Worklist, start: int, end: int, roots: list[frozenset[str]]) -> frozenset[str]:
    """Severity words of a sentence said only in a semicolon part that does not name the manifestation ("Alzheimer's
    dementia (no behavioral sx); also severe malnutrition"): not the manifestation's severity."""
    text, language = work.analysis.text, work.analysis.language
    cuts = [start, *(start + m.end() for m in re.finditer(";", text[start:end])), end]
    parts = [english(text[a:b], language) for a, b in zip(cuts, cuts[1:], strict=False)]
    if len(parts) < 2:
        return frozenset()
    own = frozenset().union(*(p for p in parts if any(r <= p for r in roots)))
    return (frozenset().union(*parts) & _SEVERITY_STEMS) - own


def etiology_manifestation(work: Worklist, navigator: IndexNavigator | None) -> None:
    """A sentence that names a manifestation main term (Dementia) and one of its subterms that sends to a cause
    (in > Alzheimer's disease, Parkinson's disease) is coded as the pair the index gives: the cause, refined by the
    subterms the sentence names (late onset → G30.1), and the see-also manifestation entry refined by its "with"
    subterms (agitation, pacing → F02.811). The codes the sentence's words had one by one are absorbed."""
    if navigator is None:
        return
    index, tabular = navigator.index, work.tabular
    table = etiology_table(index, tabular)
    roots = {root_id: _alternatives(index.get(root_id).path[0].split(",")[0]) for root_id in table.manifestations}
    for start, end in work.analysis.sentences.spans:
        text, all_words = _affirmed(work, start, end)
        for root_id, subterms in table.manifestations.items():
            if not any(s <= all_words for s in roots[root_id]):
                continue
            words = all_words - _foreign_severity(work, start, end, roots[root_id])
            chosen = max(((len(s), node, target) for node, target in subterms
                          for s in _alternatives(node.path[-1]) if s <= words), default=None,
                         key=lambda item: item[0])
            if chosen is None:
                continue
            node, manifestation = chosen[1], chosen[2]
            if not node.target_code and node.see:
                node = index.resolve(node.see, exact=True) or node
            cause, cause_used = _refine(index, node, words, tabular)
            cause_code = _billable(_target(index, cause), tabular)
            shown, shown_used = _refine(index, manifestation, words, tabular)
            shown_code = _billable(shown.target_code, tabular)
            if not cause_code or not shown_code:
                continue
            coded = [e for e in work.coded() if _in(e, start, end)]
            same = [e for e in coded if e.code[:3] == cause_code[:3] and e.code != cause_code]
            if same and not cause_used and not _is_vague(same[0].code, tabular):
                cause_code = same[0].code  # the coding already names the cause more precisely (G20.A1)
            span = [Span(start=start, end=end, text=work.analysis.text[start:end].strip())]
            score = max((e.suggestion.score for e in coded), default=0.5)
            path = f"{', '.join(index.get(root_id).path)} > {node.title} → {cause_code}"
            work.add(cause_code, span, "code first", f"{path} (the cause, coded first)", score, "index-navigator")
            work.add(shown_code, span, "code first",
                     f"{manifestation.title}{' > ' + shown.path[-1] if shown is not manifestation else ''} → "
                     f"{shown_code} (code first {cause_code})", score, "index-navigator")
            named = shown_used | _named(index, manifestation, words)
            covered = words & (frozenset().union(*roots[root_id]) | _stems(node.title) | cause_used | named
                               | _stems(" ".join(cause.path)))
            for entry in coded:
                if entry.code in (cause_code, shown_code):
                    continue
                said = english(" ".join(work.analysis.text[s:e] for s, e in entry.spans), work.analysis.language)
                if entry.code[:3] in (cause_code[:3], shown_code[:3]) or (
                        said and said - _SUBTERM_FILLERS <= covered) or entry.code[0] == "R" and said & named:
                    work.absorb(entry.code, shown_code if entry.code[0] in "FR" else cause_code, "code first",
                                "the etiology / manifestation pair names this")


def _is_vague(code: str, tabular: Tabular) -> bool:
    title = tabular.description(code).lower()
    return "unspecified" in title or not tabular.is_billable(code)


def _procedure(work: Worklist, text: str) -> re.Match[str] | None:
    """A procedure word after a "following / after" cue in ``text`` ("following total thyroidectomy")."""
    language = work.analysis.language
    config = _words()
    after = "|".join(re.escape(w) for w in config["after"].get(language, []))
    procedure = "|".join(config["procedure"].get(language, []))
    return re.search(rf"\b(?:{after})\b[^.;]{{0,40}}?\b(?:{procedure})\b", text, re.IGNORECASE)


def due_to_subterms(work: Worklist, navigator: IndexNavigator | None) -> None:
    """A coded condition whose main term has "due to" or "post..." subterms is recoded by the one the note states:
    Delirium > due to > general medical condition (F05) when the sentence gives another coded condition as the
    cause; Hypothyroidism > postsurgical / due to > surgery (E89.0) when it follows a procedure. The reason for the
    past procedure ("thyroidectomy for goiter") is no current condition."""
    if navigator is None:
        return
    index, tabular = navigator.index, work.tabular
    table = etiology_table(index, tabular)
    language = work.analysis.language
    for entry in [*work.coded(), *work.candidates()]:
        heads = table.causes.get(entry.code, [])
        if not heads or not entry.spans or not work.codable(entry) or entry.only("historical", "negated"):
            continue
        start, end = work.analysis.sentences.sentence_bounds(*entry.spans[0])
        text, words = _affirmed(work, start, end)
        procedure = _procedure(work, text)
        if procedure is not None:
            words = words | _stems("surgery postsurgical postprocedural")
        cause = _CAUSE[language].search(text)
        others = [o for o in work.coded() if o is not entry and _in(o, start, end) and o.code[0] not in "RZVWXY"
                  and cause is not None and all(s - start >= cause.end() for s, _ in o.spans)]
        for head in heads:
            found = _cause_subterm(index, head, words, bool(others), procedure is not None)
            if found is None:
                continue
            code = _billable(found.target_code, tabular)
            if not code or code == entry.code:
                continue
            why = f"{head.title} > {' > '.join(found.path[1:])} → {code}"
            work.add(code, list(entry.suggestion.evidence), "due to", why, entry.suggestion.score, "index-navigator")
            work.absorb(entry.code, code, "due to", "the index's subterm names the cause")
            if procedure is not None:
                for other in work.coded():
                    if other.code != code and _in(other, start + procedure.end(), end) and re.match(
                            r"(?:\s+\w+){0,2}?\s+(?:for|por|para)\b", text[procedure.end():]):
                        work.demote(other.code, "due to", "the reason for a past procedure is no current condition")
            break


def residual_subterms(work: Worklist, navigator: IndexNavigator | None) -> None:
    """A residual "Other ..." code a bare main term gave ("dependence" F19.20, Other psychoactive substance
    dependence) is refined by the subterm its clause names (Dependence > alcohol → F10.20): the word next to it
    says which substance, organ or type the index means."""
    if navigator is None:
        return
    index, tabular = navigator.index, work.tabular
    table = etiology_table(index, tabular)
    for entry in list(work.coded()):
        mains = table.residual.get(entry.code, [])
        if not mains or not entry.spans:
            continue
        start, end = work.analysis.sentences.clause_bounds(*entry.spans[0])
        _, words = _affirmed(work, start, end)
        for main in mains:
            found, used = _refine(index, main, words, tabular)
            code = _billable(_target(index, found), tabular) if used else ""
            if not code or code == entry.code:
                continue
            why = f"{main.title} > {' > '.join(found.path[1:])} → {code}"
            work.add(code, list(entry.suggestion.evidence), "index subterm", why, entry.suggestion.score,
                     "index-navigator")
            work.absorb(entry.code, code, "index subterm", "the clause names the index's subterm")
            break


def _cause_subterm(index: AlphabeticIndex, head: IndexTerm, words: frozenset[str], other_cause: bool,
                   procedure: bool) -> IndexTerm | None:
    for child in index.children(head):
        text = child.path[-1].strip().lower()
        if text.startswith(("postprocedural", "postsurgical")) and procedure and child.target_code:
            return child
        if text != "due to":
            continue
        for sub in index.children(child):
            label = sub.path[-1].strip().lower()
            if not sub.target_code:
                continue
            if _CLASS_SUBTERM.search(label) and other_cause:
                return sub
            stems = _stems(label)
            if procedure and stems and stems <= words and stems <= _stems("surgery postsurgical postprocedural"):
                return sub
    return None


@lru_cache(maxsize=2)
def _severity_words(path: Path = SEVERITY_FILE) -> tuple[str, ...]:
    with path.open("rb") as handle:
        return tuple(tomllib.load(handle).get("severity", []))


def severities(a: str, b: str, tabular: Tabular) -> dict[str, int]:
    """For two codes of one condition at different degrees (Excludes1 "alcohol abuse" / "alcohol dependence"), how
    severe each is (higher is more severe); empty when their titles do not both name a degree."""
    order = _severity_words()
    found: dict[str, int] = {}
    for code in (a, b):
        words = re.findall(r"[a-z]+", tabular.description(code).lower())
        rank = next((len(order) - i for i, word in enumerate(order) if word in words), 0)
        if rank:
            found[code] = rank
    return found if len(found) == 2 else {}


_ITEM = re.compile(r"^(?P<label>[^()]+?)\s*\((?P<codes>[A-Z][0-9][0-9A-Z.\-, ]*)\)\s*$")


def named_additional(work: Worklist) -> None:
    """A "use additional code" item the note's sentence names in words beyond the coded title's ("BPH with lower
    urinary tract symptoms: weak stream" → weak urinary stream R39.12): coded, when the item gives one billable
    code. An item the note does not name is never added."""
    tabular = work.tabular
    for entry in list(work.coded()):
        notes = tabular.inherited_notes(entry.code)
        if not notes.use_additional or not entry.spans:
            continue
        own = work.words_of(entry.code)
        bounds = {work.analysis.sentences.sentence_bounds(s, e) for s, e in entry.spans}
        words = frozenset().union(*(_affirmed(work, s, e)[1] for s, e in bounds))
        for line in notes.use_additional:
            item = _ITEM.match(line.strip())
            if item is None or "," in item.group("codes") or item.group("codes").endswith("-"):
                continue
            code = item.group("codes").strip()
            stems = _stems(item.group("label")) - own
            if not stems or not stems <= words or not tabular.is_billable(code) or code in work.entries and \
                    work.entries[code].coded:
                continue
            if code.startswith("Z79") and not any(f.code == code for f in work.analysis.status):
                continue  # a drug named is long-term therapy only as the status rules read it ("insulin gtt" is not)
            work.add(code, list(entry.suggestion.evidence), "use additional",
                     f"{entry.code}'s notes ask for {item.group('label').strip()} ({code}), which the note names",
                     entry.suggestion.score, "tabular-list")
            label = _stems(item.group("label"))
            for other in work.coded():
                said = english(" ".join(work.analysis.text[s:e] for s, e in other.spans), work.analysis.language)
                if other.code not in (code, entry.code) and said and said <= label | own:
                    work.absorb(other.code, code, "use additional", f"the note's words are the item {code} names")


_CODE_FIRST: dict[str, dict[str, list[str]]] = {}


def _named_in_code_first(tabular: Tabular) -> dict[str, list[str]]:
    """Full code → the billable codes whose "code first" note names exactly it (E11.43 → K31.84 gastroparesis)."""
    edition = tabular.info.key()
    if edition not in _CODE_FIRST:
        from core.rules.worklist import references

        found: dict[str, list[str]] = {}
        for code, item in tabular.codes.items():
            if not item.billable:
                continue
            for first, last in references(tabular.inherited_notes(code).code_first):
                if not last and "." in first and tabular.is_billable(first):
                    found.setdefault(first, []).append(code)
        _CODE_FIRST[edition] = found
    return _CODE_FIRST[edition]


def named_manifestations(work: Worklist) -> None:
    """A manifestation whose "code first" note names a coded code exactly (K31.84 Gastroparesis: code first E11.43)
    is coded when the coded code's sentence names it in the manifestation's own words ("DM2 con gastroparesia
    diabética"): the pair the tabular list makes, etiology first."""
    tabular = work.tabular
    table = _named_in_code_first(tabular)
    for entry in list(work.coded()):
        options = table.get(entry.code, [])
        if not options or not entry.spans:
            continue
        bounds = {work.analysis.sentences.sentence_bounds(s, e) for s, e in entry.spans}
        words = frozenset().union(*(_affirmed(work, s, e)[1] for s, e in bounds))
        categories = {e.code[:3] for e in work.coded()}
        for code in options:
            if code[:3] in categories:
                continue  # the note's coding has this condition already (its stage, its type)
            stems = _stems(tabular.description(code)) - _TITLE_FILLERS
            if not stems or not stems <= words or code in work.entries and work.entries[code].coded:
                continue
            work.add(code, list(entry.suggestion.evidence), "code first",
                     f"{tabular.description(code)}: code first {entry.code}, which the note codes",
                     entry.suggestion.score, "tabular-list")


_TITLE_FILLERS = frozenset(term_key("unspecified other specified classified elsewhere", "en"))
