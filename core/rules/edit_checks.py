"""Edit checks run after the final step: the things a coding auditor would flag."""

from __future__ import annotations

from core.kb.tabular import Tabular, normalize_code
from core.schema import CodeSuggestion, EditMessage


def _covers(reference: str, code: str) -> bool:
    """An instructional-note reference ("A40", "P36", "R78.81") covers the code itself and everything below it."""
    return normalize_code(code).startswith(normalize_code(reference))


def run_edit_checks(codes: list[CodeSuggestion], tabular: Tabular) -> list[EditMessage]:
    messages: list[EditMessage] = []
    seen: set[str] = set()
    names = [normalize_code(c.code) for c in codes]
    for position, code in enumerate(names):
        if code in seen:
            messages.append(EditMessage(level="error", code=code, message=f"{code} is listed more than once"))
            continue
        seen.add(code)
        item = tabular.get(code)
        if item is None:
            messages.append(EditMessage(level="error", code=code, message=f"{code} is not a valid ICD-10-CM code"))
            continue
        if not item.billable:
            messages.append(
                EditMessage(
                    level="error",
                    code=code,
                    message=f"{code} is not billable in {tabular.info.edition}: a more specific code is required",
                    related=tabular.billable_descendants(code)[:10],
                )
            )
        notes = tabular.inherited_notes(code)
        excluded = notes.referenced_codes("excludes1")
        for other in names:
            if other != code and any(_covers(ref, other) for ref in excluded):
                messages.append(
                    EditMessage(
                        level="error",
                        code=code,
                        message=f"Excludes1: {code} and {other} should not be reported together",
                        related=[other],
                    )
                )
        first = notes.referenced_codes("code_first")
        if first:
            present = [i for i, other in enumerate(names) if any(_covers(ref, other) for ref in first)]
            if not present:
                optional = any("if applicable" in line.lower() for line in notes.code_first)
                messages.append(
                    EditMessage(
                        level="info" if optional else "warning",
                        code=code,
                        message=f"{code}: code first the underlying condition ({', '.join(first[:5])})",
                        related=first[:10],
                    )
                )
            elif min(present) > position:
                messages.append(
                    EditMessage(
                        level="warning",
                        code=code,
                        message=f"{code} should follow {names[min(present)]} (code first note)",
                        related=[names[min(present)]],
                    )
                )
        additional = notes.referenced_codes("use_additional")
        if additional and not any(any(_covers(ref, other) for ref in additional) for other in names):
            messages.append(
                EditMessage(
                    level="info",
                    code=code,
                    message=f"{code}: use additional code, if applicable ({', '.join(additional[:5])})",
                    related=additional[:10],
                )
            )
    return messages
