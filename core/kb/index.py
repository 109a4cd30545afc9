"""The ICD-10-CM alphabetical index as a term tree.

Sources, any of which may be missing: the official CMS index XML (``icd10cm_index_YYYY.xml``), the
flattened CMS CSV (rows in document order with a ``Level`` column), the neoplasm / drug tables and the
external-cause index XML. Without any of them an index is derived from the tabular list
(descriptions and inclusion terms) and a notice says that the official index is not loaded.
"""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.kb.resources import ResourceInfo, file_fingerprint
from core.kb.tabular import Tabular, normalize_code
from core.nlp.textnorm import strip_accents

# Official index entries first; entries derived from tabular descriptions last.
SEARCH_SOURCE_ORDER = {"cms-index": 0, "neoplasm": 1, "drug": 1, "external-cause": 1, "tabular": 2}
CODE_LIKE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?-?$")


def printed_code_target(code: str) -> str:
    """A code as the index prints it, dash removed and dotted (``'C50.91-'`` → ``'C50.91'``); "" for "-" or text."""
    return normalize_code(code) if code and CODE_LIKE.match(code) else ""


@dataclass(slots=True)
class IndexTerm:
    id: int
    path: tuple[str, ...]  # main term first, e.g. ("Failure, failed", "heart", "right")
    code: str = ""  # as printed in the index; may be incomplete ("C50.91-") or empty
    see: str = ""
    see_also: str = ""
    nonessential: str = ""  # non-essential modifiers, e.g. "(isolated) (ventricular)"
    source: str = ""  # cms-index | neoplasm | drug | external-cause | tabular
    parent_id: int | None = None
    children: list[int] = field(default_factory=list)

    @property
    def title(self) -> str:
        text = ", ".join(self.path)
        return f"{text} {self.nonessential}".strip()

    @property
    def target_code(self) -> str:
        return printed_code_target(self.code)

    @property
    def needs_completion(self) -> bool:
        """Index codes ending in a dash must be completed in the tabular list."""
        return self.code.endswith("-")


@dataclass
class AlphabeticIndex:
    terms: list[IndexTerm]
    infos: list[ResourceInfo]
    _by_path: dict[str, int] = field(default_factory=dict, repr=False)
    _main_by_head: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _search_paths: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        heads: dict[str, list[int]] = defaultdict(list)
        for term in self.terms:
            self._by_path.setdefault(_norm(", ".join(term.path)), term.id)
            if len(term.path) == 1:
                heads[_norm(term.path[0])].append(term.id)
                heads[_norm(term.path[0].split(",")[0])].append(term.id)
        self._main_by_head = dict(heads)

    @property
    def official_loaded(self) -> bool:
        return any(info.loaded and info.source != "derived from tabular list" for info in self.infos)

    def get(self, term_id: int) -> IndexTerm:
        return self.terms[term_id]

    def find(self, *path: str) -> IndexTerm | None:
        term_id = self._by_path.get(_norm(", ".join(path)))
        return self.terms[term_id] if term_id is not None else None

    def children(self, term: IndexTerm) -> list[IndexTerm]:
        return [self.terms[i] for i in term.children]

    def resolve(self, reference: str, *, exact: bool = False) -> IndexTerm | None:
        """Follow a See / See also reference such as ``'Failure, heart, right'`` down the tree.

        A reference whose later parts are not all found stops at the deepest term reached ("Abscess, upper limb"
        → "Abscess"), fine for showing a coder where to look; ``exact`` returns None instead, for uses that take
        the code of the term reached.
        """
        # "History, personal (of), malignant neoplasm (of)": the nonessential words are not part of the path.
        parts = [p.strip() for p in re.sub(r"\s*\([^()]*\)", "", reference).split(",") if p.strip()]
        for cut in range(len(parts), 0, -1):
            head = _norm(", ".join(parts[:cut]))
            for main_id in self._main_by_head.get(head, []):
                node = self.terms[main_id]
                rest = parts[cut:]
                while rest:
                    wanted = _norm(rest[0])
                    nxt = next((c for c in self.children(node) if _norm(c.path[-1]) == wanted), None)
                    nxt = nxt or next((c for c in self.children(node) if _norm(c.path[-1]).startswith(wanted)), None)
                    if nxt is None:
                        break
                    node, rest = nxt, rest[1:]
                return None if exact and rest else node
        return None

    def see_reference_codes(self, max_hops: int = 3) -> Iterator[tuple[IndexTerm, str]]:
        """(term, code) for every term printed without a code that sends the coder elsewhere with "see"
        ("Obstruction, ileum — see Obstruction, intestine" → K56.609), following chains of references; only
        references found in full, so "see Abscess, by site" never lends the plain "Abscess" code. A term with
        neither code nor "see" follows its "see also" ("Lymphedema — see also Elephantiasis" → I89.0)."""
        for term in self.terms:
            if term.target_code or not (term.see or term.see_also):
                continue
            target: IndexTerm | None = term
            for _ in range(max_hops):
                reference = (target.see or target.see_also) if target is not None else ""
                target = self.resolve(reference, exact=True) if target is not None else None
                if target is None or target.target_code or not target.see:
                    break
            if target is not None and target.target_code:
                yield term, target.target_code

    def search(self, query: str, limit: int = 100) -> list[IndexTerm]:
        """Entries whose full path contains every word of the query; official entries and short paths first."""
        words = re.findall(r"\w+", _norm(query))  # "Failure, heart, right" as the index writes it: the words
        if not words:
            return []
        if not self._search_paths:
            self._search_paths = [_norm(" ".join(term.path)) for term in self.terms]  # ~1 s once for 258k terms
        hits = [self.terms[i] for i, path in enumerate(self._search_paths) if all(w in path for w in words)]
        hits.sort(key=lambda t: (SEARCH_SOURCE_ORDER.get(t.source, 1), len(t.path), t.id))
        return hits[:limit]

    def coded_terms(self) -> Iterator[IndexTerm]:
        return (term for term in self.terms if term.target_code)


def _norm(text: str) -> str:
    return " ".join(strip_accents(text.lower()).replace("'s", "").split())


class _Builder:
    def __init__(self) -> None:
        self.terms: list[IndexTerm] = []

    def add(self, path: tuple[str, ...], parent: IndexTerm | None, **values: str) -> IndexTerm:
        term = IndexTerm(id=len(self.terms), path=path, parent_id=parent.id if parent else None, **values)
        self.terms.append(term)
        if parent is not None:
            parent.children.append(term.id)
        return term


def _read_csv(builder: _Builder, path: Path) -> int:
    before = len(builder.terms)
    stack: list[IndexTerm] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            level = int(row["Level"])
            text = row["Term"].strip()
            if text.lower().startswith("note:"):
                continue  # instructional note rows are not terms; their sub-rows belong to the term above
            stack = stack[:level]
            parent = stack[-1] if stack else None
            term = builder.add(
                (*parent.path, text) if parent else (text,),
                parent,
                code=row["Code"].strip(),
                see=row["See"].strip(),
                see_also=row["SeeAlso"].strip(),
                nonessential=row["NonEssModif"].strip(),
                source="cms-index",
            )
            stack.append(term)
    return len(builder.terms) - before


def _title_of(node: ET.Element) -> tuple[str, str]:
    title = node.find("title")
    if title is None:
        return "", ""
    text = (title.text or "") + "".join((child.tail or "") for child in title)
    nemod = " ".join((n.text or "").strip() for n in title.iter("nemod"))
    return " ".join(text.split()), nemod


def _read_xml(builder: _Builder, path: Path, source: str) -> int:
    """Parse a CMS index XML: plain index (``code``/``see``/``seeAlso``) or a table (``cell col=N``)."""
    before = len(builder.terms)
    root = ET.parse(path).getroot()
    headings = {h.get("col"): (h.text or "").strip() for h in root.iter("head")}

    def walk(node: ET.Element, parent: IndexTerm | None) -> None:
        text, nemod = _title_of(node)
        path_ = (*parent.path, text) if parent else (text,)
        code = (node.findtext("code") or "").strip()
        term = builder.add(
            path_,
            parent,
            code=code,
            see=(node.findtext("see") or "").strip(),
            see_also=(node.findtext("seeAlso") or "").strip(),
            nonessential=nemod,
            source=source,
        )
        for cell in node.findall("cell"):
            value = (cell.text or "").strip()
            if CODE_LIKE.match(value):
                builder.add((*path_, headings.get(cell.get("col"), cell.get("col") or "")), term, code=value, source=source)
        for child in node.findall("term"):
            walk(child, term)

    for letter in root.iter("letter"):
        for main in letter.findall("mainTerm"):
            walk(main, None)
    return len(builder.terms) - before


def _derive_from_tabular(builder: _Builder, tabular: Tabular) -> int:
    before = len(builder.terms)
    for item in tabular.codes.values():
        if item.kind in ("chapter", "block"):
            continue
        builder.add((item.description,), None, code=item.code, source="tabular")
        for inclusion in item.notes.inclusion_terms:
            builder.add((inclusion,), None, code=item.code, source="tabular")
    return len(builder.terms) - before


def build_index(sources: list[tuple[str, Path | None]], tabular: Tabular, *, include_tabular: bool = True) -> AlphabeticIndex:
    """Build the term tree from whichever sources exist. ``sources``: (kind, path) pairs where kind is
    ``cms-index-xml``, ``cms-index-csv``, ``neoplasm``, ``drug`` or ``external-cause``."""
    builder = _Builder()
    infos: list[ResourceInfo] = []
    have_main = False
    for kind, path in sources:
        if path is None:
            continue
        if kind == "cms-index-csv" and have_main:
            continue  # the XML, when given, supersedes the lossy CSV
        if not path.is_file():
            infos.append(ResourceInfo(name=kind, source=str(path), loaded=False, notice=f"{path} not found"))
            continue
        try:
            if kind == "cms-index-csv":
                count = _read_csv(builder, path)
            else:
                count = _read_xml(builder, path, "cms-index" if kind == "cms-index-xml" else kind)
        except (OSError, ET.ParseError, KeyError, ValueError) as exc:
            infos.append(ResourceInfo(name=kind, source=str(path), loaded=False, notice=f"unreadable: {exc}"))
            continue
        have_main = have_main or kind in ("cms-index-xml", "cms-index-csv")
        edition = re.search(r"(20\d\d)", path.name)
        infos.append(
            ResourceInfo(
                name=f"ICD-10-CM index ({kind})",
                edition=f"FY{edition.group(1)}" if edition else "",
                source=f"{path} [{file_fingerprint(path)}]",
                items=count,
            )
        )
    if include_tabular:
        count = _derive_from_tabular(builder, tabular)
        infos.append(
            ResourceInfo(
                name="index terms derived from the tabular list",
                edition=tabular.info.edition,
                source="derived from tabular list",
                items=count,
                notice="" if have_main else "official alphabetical index not loaded: using tabular descriptions "
                "and inclusion terms only (set data_dir or index_csv/index_xml to load it)",
            )
        )
    return AlphabeticIndex(terms=builder.terms, infos=infos)
