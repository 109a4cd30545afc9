"""How coders judged the suggestions: acceptance, rejections, edits, misses, by step / chapter / coder / day.

Pure functions over the dict rows of ``DecisionStore.decisions()`` and ``DecisionStore.suggestions()``;
``compute(store)`` bundles them. Results are plain dicts and long-format pandas DataFrames for Altair.

Only the *final* decision per (run, code) counts towards rates: a coder who accepts and then rejects a code
has rejected it. The code's origin is the status of the suggestion the decision is linked to ("code" or
"candidate"); a decision linked to no suggestion is on a code the coder brought in ("added", a miss).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

SUGGESTED = ("code", "candidate")
OUTCOMES = ("accepted", "rejected", "edited", "added", "withdrawn")
FINAL_COLUMNS = [
    "run_id", "note_id", "code", "origin", "action", "outcome", "replacement_code", "reason", "user",
    "created_at", "day", "step", "n_decisions",
]  # fmt: skip
BREAKDOWN_COUNTS = ["decided", "accepted", "rejected", "edited", "added"]


def category(code: str) -> str:
    """ICD-10 category: the first three characters, ignoring the dot and case."""
    return code.replace(".", "").strip().upper()[:3]


def chapter_by_letter(code: str) -> str:
    """Rough ICD-10-CM chapter: the code's first letter (D and H each span two chapters)."""
    code = code.strip().upper()
    return code[:1] or "?"


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _outcome(origin: str, action: str) -> str:
    if origin in SUGGESTED:
        # Re-adding a suggested code is accepting it.
        return {"accept": "accepted", "add": "accepted", "reject": "rejected", "edit": "edited"}[action]
    return "withdrawn" if action == "reject" else "added"


def final_decisions(
    decisions: Iterable[Mapping[str, Any]], suggestions: Iterable[Mapping[str, Any]] | None = None
) -> pd.DataFrame:
    """The latest decision per (run_id, code), with its origin and outcome.

    ``outcome`` is accepted / rejected / edited for suggested codes, added for coder-introduced codes (or
    withdrawn if the coder later rejected their own addition). For an edited *added* code the miss is the
    replacement code, which becomes ``code``. ``suggestions`` fill in status / step when the decision rows
    lack the joined ``suggestion_*`` fields.
    """
    by_id = {s["id"]: s for s in suggestions or []}
    groups: dict[tuple[Any, str], list[Mapping[str, Any]]] = {}
    rows_in = list(decisions)
    if all(d.get("id") is not None for d in rows_in):  # ids follow commit order, as in DecisionStore.current_state
        rows_in.sort(key=lambda d: d["id"])
    else:
        rows_in.sort(key=lambda d: (str(d.get("created_at") or ""), d.get("id") or 0))
    for row in rows_in:
        groups.setdefault((row["run_id"], row["code"]), []).append(row)

    rows: list[dict[str, Any]] = []
    for (run_id, code), history in groups.items():
        origin, step = "added", ""
        for row in history:
            sug = by_id.get(row.get("suggestion_id")) if row.get("suggestion_id") is not None else None
            status = row.get("suggestion_status") or (sug or {}).get("status")
            if status in SUGGESTED:
                origin = status
                step = row.get("suggestion_step") or (sug or {}).get("step") or ""
        last = history[-1]
        outcome = _outcome(origin, last["action"])
        counted_code = (last.get("replacement_code") or code) if origin == "added" else code
        created = str(last.get("created_at") or "")
        rows.append(
            {
                "run_id": run_id,
                "note_id": last.get("note_id"),
                "code": counted_code,
                "origin": origin,
                "action": last["action"],
                "outcome": outcome,
                "replacement_code": last.get("replacement_code"),
                "reason": last.get("reason") or "",
                "user": last.get("user") or "",
                "created_at": created,
                "day": created[:10],
                "step": step if origin in SUGGESTED else "(coder)",
                "n_decisions": len(history),
            }
        )
    return pd.DataFrame(rows, columns=FINAL_COLUMNS)


def _counts(frame: pd.DataFrame) -> dict[str, Any]:
    suggested = frame[frame["origin"].isin(SUGGESTED)]
    accepted = int((suggested["outcome"] == "accepted").sum())
    rejected = int((suggested["outcome"] == "rejected").sum())
    edited = int((suggested["outcome"] == "edited").sum())
    added = int((frame["outcome"] == "added").sum())
    decided = accepted + rejected + edited
    return {
        "decided": decided,
        "accepted": accepted,
        "rejected": rejected,
        "edited": edited,
        "added": added,
        "acceptance_rate": _rate(accepted, decided),
    }


def acceptance_rates(finals: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per suggestion status ("code", "candidate"): decided / accepted / rejected / edited and the rate."""
    out = {}
    for status in SUGGESTED:
        counts = _counts(finals[finals["origin"] == status])
        counts.pop("added")
        out[status] = counts
    return out


def precision(finals: pd.DataFrame, statuses: tuple[str, ...] = ("code",)) -> float | None:
    """Suggestion precision as judged by coders: accepted / (accepted + rejected + edited).

    By default over the pipeline's answer (status "code"); pass ``("code", "candidate")`` to include candidates.
    """
    counts = _counts(finals[finals["origin"].isin(statuses)])
    return counts["acceptance_rate"]


def coder_recall(finals: pd.DataFrame) -> float | None:
    """Share of the coders' final codes that were suggested exactly (as code or candidate).

    accepted / (accepted + edited + added): edits and additions are codes the suggestions missed.
    """
    counts = _counts(finals)
    return _rate(counts["accepted"], counts["accepted"] + counts["edited"] + counts["added"])


def rejection_reasons(finals: pd.DataFrame) -> pd.DataFrame:
    """Count of final rejections per reason (blank reasons as "(no reason)"), most frequent first."""
    rejected = finals[finals["outcome"] == "rejected"]
    reasons = rejected["reason"].fillna("").str.strip().replace("", "(no reason)")
    frame = reasons.value_counts().rename_axis("reason").reset_index(name="count")
    return frame.sort_values(["count", "reason"], ascending=[False, True], ignore_index=True)


def edits(finals: pd.DataFrame) -> pd.DataFrame:
    """Suggested code -> replacement code pairs with counts and whether the category (3 chars) was kept."""
    edited = finals[finals["outcome"] == "edited"]
    columns = ["code", "replacement_code", "same_category", "count"]
    if edited.empty:
        return pd.DataFrame(columns=columns)
    frame = edited.groupby(["code", "replacement_code"]).size().reset_index(name="count")
    frame["same_category"] = [
        category(a) == category(b) for a, b in zip(frame["code"], frame["replacement_code"], strict=True)
    ]
    return frame[columns].sort_values(["count", "code"], ascending=[False, True], ignore_index=True)


def edit_summary(finals: pd.DataFrame) -> dict[str, int]:
    table = edits(finals)
    same = int(table.loc[table["same_category"].astype(bool), "count"].sum()) if not table.empty else 0
    total = int(table["count"].sum()) if not table.empty else 0
    return {"edits": total, "same_category": same, "other_category": total - same}


def added_codes(finals: pd.DataFrame) -> pd.DataFrame:
    """Codes coders added that no suggestion had (misses), most frequent first."""
    added = finals[finals["outcome"] == "added"]
    frame = added["code"].value_counts().rename_axis("code").reset_index(name="count")
    return frame.sort_values(["count", "code"], ascending=[False, True], ignore_index=True)


def breakdown(finals: pd.DataFrame, by: str) -> pd.DataFrame:
    """Counts and rates grouped by a column of ``finals`` (step, chapter, user, day, ...).

    ``precision`` here is accepted / decided over all suggestions (codes and candidates) in the group.
    """
    columns = [by, *BREAKDOWN_COUNTS, "precision"]
    if finals.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for key, group in finals.groupby(by, sort=True):
        counts = _counts(group)
        rows.append({by: key, **{k: counts[k] for k in BREAKDOWN_COUNTS}, "precision": counts["acceptance_rate"]})
    return pd.DataFrame(rows, columns=columns)


def per_step(finals: pd.DataFrame) -> pd.DataFrame:
    return breakdown(finals, "step")


def per_chapter(finals: pd.DataFrame, chapter_of: Callable[[str], str] | None = None) -> pd.DataFrame:
    chapter_of = chapter_of or chapter_by_letter
    frame = finals.assign(chapter=[chapter_of(code) for code in finals["code"]])
    return breakdown(frame, "chapter")


def per_coder(finals: pd.DataFrame) -> pd.DataFrame:
    """Grouped by the coder who made the final decision on each code."""
    return breakdown(finals, "user")


def per_day(finals: pd.DataFrame) -> pd.DataFrame:
    """Grouped by the UTC day of the final decision."""
    return breakdown(finals, "day")


def activity_per_day(decisions: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Every decision row (not just final ones) per UTC day and action: long format for a stacked bar chart."""
    rows = [{"day": str(d.get("created_at") or "")[:10], "action": d["action"]} for d in decisions]
    if not rows:
        return pd.DataFrame(columns=["day", "action", "count"])
    return pd.DataFrame(rows).groupby(["day", "action"]).size().reset_index(name="count")


def undecided(finals: pd.DataFrame, suggestions: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Suggestions per status that no coder has decided on yet."""
    decided = set(zip(finals["run_id"], finals["code"], strict=True))
    out = dict.fromkeys(SUGGESTED, 0)
    for sug in suggestions:
        if (sug["run_id"], sug["code"]) not in decided and sug.get("status") in out:
            out[sug["status"]] += 1
    return out


def summarise(
    decisions: Iterable[Mapping[str, Any]],
    suggestions: Iterable[Mapping[str, Any]] | None = None,
    chapter_of: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """All metrics from decision (and optionally suggestion) rows."""
    decisions = list(decisions)
    suggestions = list(suggestions) if suggestions is not None else None
    finals = final_decisions(decisions, suggestions)
    out: dict[str, Any] = {
        "n_decisions": len(decisions),
        "n_final": len(finals),
        "acceptance": acceptance_rates(finals),
        "precision": precision(finals),
        "coder_recall": coder_recall(finals),
        "edit_summary": edit_summary(finals),
        "finals": finals,
        "rejection_reasons": rejection_reasons(finals),
        "edits": edits(finals),
        "added_codes": added_codes(finals),
        "per_step": per_step(finals),
        "per_chapter": per_chapter(finals, chapter_of),
        "per_coder": per_coder(finals),
        "per_day": per_day(finals),
        "activity_per_day": activity_per_day(decisions),
    }
    if suggestions is not None:
        out["undecided"] = undecided(finals, suggestions)
    return out


def compute(store: Any, chapter_of: Callable[[str], str] | None = None, **filters: Any) -> dict[str, Any]:
    """``summarise`` over a ``DecisionStore`` (``filters`` go to ``store.decisions``)."""
    decisions = store.decisions(**filters)
    run_ids = {d["run_id"] for d in decisions}
    suggestions = [s for s in store.suggestions() if not filters or s["run_id"] in run_ids]
    return summarise(decisions, suggestions, chapter_of)
