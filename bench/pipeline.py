"""Pipeline benchmark: cold build and warm load of the knowledge base, per-case latency per step and strategy.

1. Cold build, in a fresh temporary cache dir: tabular list, alphabetical index, dictionary linker, hybrid
   retriever (dense half only with ``--embedding``; default none, since embedding the ~38k Spanish texts takes
   minutes) and the supervised ranker.
2. Warm load of the same caches in a new process (what an app restart costs), imports included.
3. Per-case latency over the first N cases of ``--split`` (default dev, learning from the other labelled splits)
   for each strategy and backend: p50 / p95 per pipeline step and end to end, after one warm-up case (reported
   as ``first_ms``: it pays for lazy loads such as the LLM or the ranker). With backend ``none`` every strategy
   except ``ranker`` runs the deterministic path; the table says which path ran.

Peak memory is the process's maximum resident set size (VmHWM; ``resource.getrusage`` off Linux) after each phase.
Prints a table, then the JSON of every figure.

    .venv/bin/python bench/pipeline.py                      # es, dev, 20 cases (none) / 3 cases (embedded)
    .venv/bin/python bench/pipeline.py --backends none --limit 50
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memory import peak_rss_mb  # noqa: E402  (bench/memory.py)

from core.ranking.registry import rankers_for  # noqa: E402
from core.settings import BACKENDS, LANGUAGES, STRATEGIES, Settings, load_settings  # noqa: E402

DEFAULT_LIMITS = {"none": 20, "embedded": 3, "ollama": 3, "openai": 3}


def _timed(timings: dict[str, float], name: str, load: Any) -> Any:
    started = time.perf_counter()
    value = load()
    timings[name] = round(time.perf_counter() - started, 3)
    return value


def train_splits_for(kb: Any, split: str) -> tuple[str, ...]:
    return tuple(s for s in kb.labelled_splits() if s != split)


def load_everything(settings: Settings, language: str, split: str, *, train_ranker: bool) -> dict[str, Any]:
    """Build or load each cache in turn with its time in seconds, on a fresh KnowledgeBase (no per-process memo)."""
    from core.kb.builder import KnowledgeBuilder

    # With --embedding the dense half is built (or loaded) here, timed with the retriever.
    kb = KnowledgeBuilder(settings, dense_policy="wait").build()
    timings: dict[str, float] = {}
    splits = train_splits_for(kb, split)
    _timed(timings, "tabular_s", lambda: kb.tabular)
    _timed(timings, "index_s", lambda: kb.index)
    _timed(timings, f"linker_{language}_s", lambda: kb.linker(language, splits))
    retriever = _timed(timings, f"retriever_{language}_s", lambda: kb.retriever(language, splits))
    if settings.embedding_model != "none":
        _timed(timings, f"dense_{language}_s", lambda: retriever.ensure_dense())
    ranker = _timed(timings, f"ranker_{language}_s",
                    lambda: rankers_for(kb).get(language, splits, train_if_missing=train_ranker))
    timings["total_s"] = round(sum(timings.values()), 3)
    return {
        "timings": timings,
        "train_splits": list(splits),
        "retriever": {"items": len(retriever.corpus), "dense": retriever.faiss is not None, **retriever.timings},
        "ranker": ranker is not None,
        "peak_rss_mb": peak_rss_mb(),
        "kb": kb,
    }


def warm_load_in_subprocess(args: argparse.Namespace, cache_dir: Path) -> dict[str, Any]:
    """Load every cache in a new Python process (imports timed too) and return its figures."""
    command = [sys.executable, str(Path(__file__).resolve()), "--warm-only", "--cache-dir", str(cache_dir),
               "--lang", args.lang, "--split", args.split, "--embedding", args.embedding]
    if args.data_dir:
        command += ["--data-dir", str(args.data_dir)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-2000:]}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process_wall_s"] = round(time.perf_counter() - started, 3)
    return figures


def measure_latency(kb: Any, settings: Settings, split: str, limit: int) -> dict[str, Any]:
    """One warm-up case, then ``run_evaluation`` over the first ``limit`` cases (no files written)."""
    from core.evaluation.evaluate import run_evaluation
    from core.strategies.runner import code_note

    root = kb.codiesp_root
    cases = kb.load_cases(root, split, settings.language)[:limit]
    splits = train_splits_for(kb, split)
    ran_as: dict[str, int] = {}
    fallbacks: dict[str, int] = {}

    def code_case(case: Any) -> Any:
        result = code_note(case.text, settings, kb=kb, splits=splits)
        ran_as[result.strategy] = ran_as.get(result.strategy, 0) + 1
        for step in result.trace:
            if step.fallback:
                fallbacks[f"{step.step}: {step.fallback}"] = fallbacks.get(f"{step.step}: {step.fallback}", 0) + 1
        return result

    first_ms: float | None = None
    first_error = ""
    started = time.perf_counter()
    try:
        code_case(cases[0])
    except Exception as exc:  # reported, and the timed run records every case's error
        first_error = f"{type(exc).__name__}: {exc}"
    first_ms = round((time.perf_counter() - started) * 1000, 1)
    ran_as.clear()
    fallbacks.clear()
    report = run_evaluation(cases, code_case, None, settings_dict={}, train_codes=None)
    errors = [r["error"] for r in report.records if r.get("error")]
    metrics = report.metrics
    return {
        "cases": len(cases),
        "first_ms": first_ms,
        "first_error": first_error,
        "n_errors": len(errors),
        "error_example": errors[0] if errors else "",
        "ran_as": ran_as,
        "fallbacks": fallbacks,
        "micro_f1": (metrics.get("micro") or {}).get("f1"),
        "latency_ms": metrics["latency_ms"],
        "step_latency_ms": metrics["step_latency_ms"],
        "peak_rss_mb": peak_rss_mb(),
    }


def print_build_table(title: str, figures: dict[str, Any]) -> None:
    print(f"\n== {title} ==")
    if "error" in figures:
        print(f"  failed: {figures['error']}")
        return
    for name, seconds in figures["timings"].items():
        print(f"  {name:<18} {seconds:>9.2f} s")
    if "import_s" in figures:
        print(f"  {'imports_s':<18} {figures['import_s']:>9.2f} s")
    print(f"  peak RSS {figures['peak_rss_mb']:.0f} MB; retriever {figures['retriever']}")


def print_latency_table(rows: list[dict[str, Any]]) -> None:
    print("\n== per-case latency (ms; p50 / p95 over the timed cases, after one warm-up case) ==")
    header = f"{'backend':<9} {'strategy':<21} {'ran as':<22} {'cases':>5} {'err':>4} {'first':>8} " \
             f"{'step':<14} {'p50':>9} {'p95':>9}  {'F1':>5}  {'RSS MB':>6}"
    print(header)
    for row in rows:
        result = row["result"]
        ran = ",".join(result["ran_as"]) or "-"
        f1 = f"{result['micro_f1']:.3f}" if result["micro_f1"] is not None else "-"
        lead = (f"{row['backend']:<9} {row['strategy']:<21} {ran[:22]:<22} {result['cases']:>5} "
                f"{result['n_errors']:>4} {result['first_ms']:>8.0f} ")
        steps = [*result["step_latency_ms"].items(), ("total", result["latency_ms"])]
        for i, (step, block) in enumerate(steps):
            prefix = lead if i == 0 else " " * len(lead)
            tail = f"  {f1:>5}  {result['peak_rss_mb']:>6.0f}" if i == 0 else ""
            print(f"{prefix}{step[:14]:<14} {block['p50']:>9.1f} {block['p95']:>9.1f}{tail}")
        if result["n_errors"]:
            print(f"{'':<9} error: {result['error_example'][:160]}")
        for fallback, count in result["fallbacks"].items():
            print(f"{'':<9} fallback x{count}: {fallback[:150]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=LANGUAGES, default="es")
    parser.add_argument("--split", default="dev", help="cases to time (the dictionary learns from the others)")
    parser.add_argument("--limit", type=int, help="cases per strategy (default 20 for none, 3 for LLM backends)")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=["none", "embedded"])
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--embedding", choices=("none", "use-multilingual", "e5-small-multilingual"), default="none",
                        help="dense retrieval model for the cold build (default none: lexical only)")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--cache-dir", type=Path, help="with --skip-cold: the cache to time against")
    parser.add_argument("--skip-cold", action="store_true", help="no cold build: use --cache-dir / the default cache")
    parser.add_argument("--warm-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    import_started = time.perf_counter()
    import core.kb.knowledge  # noqa: F401  (timed: part of what a restart pays)
    import_s = round(time.perf_counter() - import_started, 3)
    base = load_settings(data_dir=args.data_dir, language=args.lang, embedding_model=args.embedding)

    if args.warm_only:
        figures = load_everything(base.with_overrides(cache_dir=args.cache_dir), args.lang, args.split,
                                  train_ranker=False)
        figures.pop("kb")
        figures["import_s"] = import_s
        print(json.dumps(figures))
        return 0

    out: dict[str, Any] = {"language": args.lang, "split": args.split, "embedding": args.embedding}
    temporary = None
    if args.skip_cold:
        cache_dir = args.cache_dir or base.cache_dir
    else:
        temporary = tempfile.TemporaryDirectory(prefix="coder-bench-cache-")
        cache_dir = Path(temporary.name)
    try:
        kb_settings = base.with_overrides(cache_dir=cache_dir)
        if not args.skip_cold:
            cold = load_everything(kb_settings, args.lang, args.split, train_ranker=True)
            cold.pop("kb")
            out["cold_build"] = cold
            print_build_table(f"cold build (fresh cache dir {cache_dir})", cold)
        warm = warm_load_in_subprocess(args, cache_dir)
        out["warm_load"] = warm
        print_build_table("warm load (new process, same cache)", warm)

        loaded = load_everything(kb_settings, args.lang, args.split, train_ranker=True)
        kb = loaded["kb"]
        if kb.codiesp_root is None:
            print(f"error: no CodiEsp data under {base.resolve(base.codiesp_dir)}", file=sys.stderr)
            return 2
        rows = []
        for backend in args.backends:
            limit = args.limit or DEFAULT_LIMITS[backend]
            for strategy in args.strategies:
                # The LLM backend keeps its model under the usual cache dir; the knowledge base is the benchmarked one.
                settings = base.with_overrides(backend=backend, strategy=strategy)
                print(f"timing {backend}/{strategy} on {limit} cases…", file=sys.stderr, flush=True)
                rows.append({"backend": backend, "strategy": strategy,
                             "result": measure_latency(kb, settings, args.split, limit)})
        out["latency"] = rows
        print_latency_table(rows)
        out["peak_rss_mb"] = peak_rss_mb()
        print(f"\npeak RSS of this process: {out['peak_rss_mb']:.0f} MB")
        print(json.dumps(out, indent=2, default=str))
    finally:
        if temporary is not None:
            temporary.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
