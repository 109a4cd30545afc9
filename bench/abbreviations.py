"""Abbreviation expansion speed: writing out the abbreviations of a 5,000-character note (the first step of every
note's analysis). The note repeats typical sentences of each language's notes, chosen with a fixed seed; the figure
is the best and the median of ``--repeats`` runs after one run that compiles the patterns and loads the lists.

    .venv/bin/python bench/abbreviations.py
    .venv/bin/python bench/abbreviations.py --chars 20000 --repeats 50
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.nlp.abbreviations import expand  # noqa: E402

SENTENCES = {
    "en": [
        "PMH: HTN, HLD, DM2, CAD s/p CABG, OSA on CPAP, CKD 3b, h/o CVA.",
        "Presented with CP and SOB after a week of N/V.",
        "CT angiogram showed a saddle PE; started heparin.",
        "The patient is a 67 y/o man with a long history of smoking who presents with worsening dyspnea.",
        "Labs notable for AKI with creatinine 2.3 and elevated LFTs; nephrology was consulted.",
        "Plan: continue lisinopril for HTN and metformin for T2DM, follow up in clinic in two weeks.",
    ],
    "es": [
        "Antecedentes: HTA, DM2, DLP, EPOC, SAOS, FA anticoagulada con Sintrom, IRC.",
        "Ingresa por IRA prerrenal con creatinina de 3,2 mg/dL y potasio de 6,1 mmol/L.",
        "Paciente de 78 años que acude a urgencias por disnea de esfuerzo progresiva de dos semanas.",
        "En la exploración destaca edema en MMII y crepitantes bibasales.",
        "Se ajusta tratamiento diurético y se solicita ecocardiograma de control.",
    ],
}


def sample_note(language: str, chars: int) -> str:
    rng = random.Random(1)
    note = ""
    while len(note) < chars:
        note += rng.choice(SENTENCES[language]) + ("\n" if rng.random() < 0.3 else " ")
    return note[:chars]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    for language in SENTENCES:
        note = sample_note(language, args.chars)
        expand(note, language)  # compile and load once
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            result = expand(note, language)
            times.append((time.perf_counter() - started) * 1000)
        print(f"{language}: {args.chars} chars, {len(result.expansions)} expansions, "
              f"best {min(times):.2f} ms, median {statistics.median(times):.2f} ms")


if __name__ == "__main__":
    main()
