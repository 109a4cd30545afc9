"""What a manager watches: charts per hour and time per chart per coder, how coders judged the pre-coded codes
(per coder and per code source), the age of the queue, and charts submitted over time.

Only worklist charts count (a note pasted in the app has no open/submit times). Time per chart runs from the
moment the coder started the chart to its submission. Rates are over the *final* decision per (run, code), as in
:mod:`core.evaluation.decision_metrics`: acceptance = accepted / decided suggestions, edit rate = replaced /
decided, add rate = codes the coder added / codes in the coder's final sets (accepted + replaced + added).
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

import pandas as pd

from core.evaluation.decision_metrics import SUGGESTED, breakdown, final_decisions
from core.store import DecisionStore
from core.store.models import utcnow
from core.worklist.queue import WAITING, WorklistQueue

CODER_COLUMNS = ["coder", "charts", "median_min_per_chart", "charts_per_hour_reviewing", "charts_per_hour_span",
                 "decided", "accepted", "rejected", "edited", "added", "acceptance_rate", "edit_rate", "add_rate"]
SOURCE_COLUMNS = ["source", "decided", "accepted", "rejected", "edited", "added", "acceptance_rate", "edit_rate"]


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def _rates(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    table = breakdown(frame, by)
    if table.empty:
        return table.assign(acceptance_rate=[], edit_rate=[], add_rate=[])
    kept = table["accepted"] + table["edited"] + table["added"]
    return table.assign(
        acceptance_rate=[_ratio(a, d) for a, d in zip(table["accepted"], table["decided"], strict=True)],
        edit_rate=[_ratio(e, d) for e, d in zip(table["edited"], table["decided"], strict=True)],
        add_rate=[_ratio(a, k) for a, k in zip(table["added"], kept, strict=True)],
    )


def _hours(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds(), 0.0) / 3600


def throughput(store: DecisionStore, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    charts = WorklistQueue(store).items()
    done = [c for c in charts if c.state == "submitted" and c.opened_at and c.submitted_at and c.reviewer]

    by_coder: dict[str, list[Any]] = {}
    for chart in done:
        by_coder.setdefault(chart.reviewer or "", []).append(chart)
    timing = {}
    for coder, items in by_coder.items():
        hours = [_hours(c.opened_at, c.submitted_at) for c in items]
        span = _hours(min(c.opened_at for c in items), max(c.submitted_at for c in items))
        timing[coder] = {
            "charts": len(items),
            "median_min_per_chart": round(statistics.median(hours) * 60, 2),
            "charts_per_hour_reviewing": _ratio(len(items), sum(hours)),
            "charts_per_hour_span": _ratio(len(items), span),
        }

    run_ids = {c.run_id for c in charts if c.run_id is not None}
    decisions = [d for d in store.decisions() if d["run_id"] in run_ids]
    finals = final_decisions(decisions)
    source_of = {(d["run_id"], d["code"]): d["suggestion_source"] or "(pipeline)" for d in decisions
                 if d.get("suggestion_status") in SUGGESTED}
    finals = finals.assign(source=[source_of.get((run, code), "(pipeline)") if origin in SUGGESTED else "(coder)"
                                   for run, code, origin in zip(finals["run_id"], finals["code"], finals["origin"],
                                                                strict=True)])
    coder_rates = _rates(finals, "user").set_index("user") if not finals.empty else pd.DataFrame()
    rows = []
    for coder in sorted(set(timing) | set(coder_rates.index)):
        rates = coder_rates.loc[coder].to_dict() if coder in coder_rates.index else {}
        rows.append({"coder": coder, **timing.get(coder, {"charts": 0}), **rates})
    per_coder = pd.DataFrame(rows, columns=CODER_COLUMNS)
    per_source = _rates(finals, "source").reindex(columns=SOURCE_COLUMNS)

    waiting = [c for c in charts if c.state in WAITING]
    ages = [(now - c.created_at).total_seconds() / 60 for c in waiting]
    queue = {
        "waiting": len(waiting),
        "oldest_min": round(max(ages), 1) if ages else None,
        "median_min": round(statistics.median(ages), 1) if ages else None,
        "by_state": {state: sum(1 for c in charts if c.state == state) for state in (*WAITING, "in_review", "failed")},
    }
    over_time = pd.DataFrame(
        [{"hour": c.submitted_at.replace(minute=0, second=0, microsecond=0, tzinfo=None), "coder": c.reviewer,
          "charts": 1} for c in done],
        columns=["hour", "coder", "charts"],
    )
    if not over_time.empty:
        over_time = over_time.groupby(["hour", "coder"], as_index=False)["charts"].sum()
    return {"per_coder": per_coder, "per_source": per_source, "queue": queue, "over_time": over_time,
            "submitted": len(done)}
