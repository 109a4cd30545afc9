"""`python -m core` end to end in a subprocess, as a user would run it."""

import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
needs_shared_data = pytest.mark.skipif(not (SHARED_DATA / "codiesp").is_dir(), reason=f"no shared data at {SHARED_DATA}")


def run_cli(*args: str, cache_dir: Path, state_dir: Path | None = None,
            embedding: str | None = "none") -> subprocess.CompletedProcess[str]:
    """The CLI with the shared cache, and a decision store of its own (never the developer's). ``embedding=None``:
    the default embedding setting."""
    state = state_dir or Path(tempfile.mkdtemp(prefix="cli-state-"))
    env = os.environ | {"CODER_CACHE_DIR": str(cache_dir), "CODER_DATA_DIR": str(SHARED_DATA),
                        "CODER_CONFIG": "/nonexistent.toml", "CODER_STATE_DIR": str(state)}
    env.pop("CODER_EMBEDDING_MODEL", None)
    if embedding is not None:
        env["CODER_EMBEDDING_MODEL"] = embedding
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def test_help_for_every_command(base_settings):
    for command in ("resources", "build", "search", "code", "train", "evaluate"):
        out = run_cli(command, "--help", cache_dir=base_settings.cache_dir)
        assert out.returncode == 0 and "usage" in out.stdout


@needs_shared_data
def test_search_prints_ranked_terms(base_settings):
    out = run_cli("search", "right heart failure", "--lang", "en", "--k", "10", cache_dir=base_settings.cache_dir)
    assert out.returncode == 0, out.stderr
    first = out.stdout.splitlines()[0]
    assert "I50.81" in first


@needs_shared_data
def test_search_with_the_default_embedding_setting(base_settings):
    """The default settings: a search whose words find the term answers at once, I50.81x in the top 3; one whose
    words find little asks for the dense half, which a one-off search uses only when it is already built."""
    out = run_cli("search", "right heart failure", "--lang", "en", cache_dir=base_settings.cache_dir, embedding=None)
    assert out.returncode == 0, out.stderr
    assert any("I50.81" in line for line in out.stdout.splitlines()[:3]), out.stdout
    vectors_before = sorted(base_settings.cache_dir.glob("vectors-*"))
    weak = run_cli("search", "insuficiencia cardiaca derecha", "--lang", "en", cache_dir=base_settings.cache_dir,
                   embedding=None)
    assert weak.returncode == 0, weak.stderr
    # The dense index on disk (a developer's `build --dense`): used; else lexical hits, and the way to build it.
    assert re.search(r"dense #\d", weak.stdout) or ("is not built yet" in weak.stderr and "build --dense" in weak.stderr)
    assert sorted(base_settings.cache_dir.glob("vectors-*")) == vectors_before  # nothing embedded by a search


@needs_shared_data
def test_build_builds_what_the_default_path_needs_and_never_embeds(base_settings):
    vectors_before = [(p, p.stat().st_mtime) for p in base_settings.cache_dir.glob("vectors-*")]
    out = run_cli("build", "--languages", "en", cache_dir=base_settings.cache_dir, embedding=None)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout[: out.stdout.rindex("}") + 1])
    assert {"dictionary_en_s", "ranker_en_s", "lexical_index_en_s", "total_s"} <= set(report)
    assert not any(key.startswith("dense") for key in report)
    assert "dense retrieval index (e5-small-multilingual) was not built" in out.stderr
    assert "[build]" in out.stderr  # progress, not silence
    assert [(p, p.stat().st_mtime) for p in base_settings.cache_dir.glob("vectors-*")] == vectors_before


@needs_shared_data
def test_code_json_and_bad_file(tmp_path: Path, base_settings):
    note = tmp_path / "note.txt"
    note.write_text("Paciente con hipertensión arterial. No presenta fiebre.", encoding="utf-8")
    out = run_cli("code", str(note), "--lang", "es", "--backend", "none", "--json", cache_dir=base_settings.cache_dir)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert "I10" in [c["code"] for c in data["codes"]]
    span = data["codes"][0]["evidence"][0]
    assert note.read_text(encoding="utf-8")[span["start"] : span["end"]] == span["text"]
    binary = tmp_path / "scan.pdf"
    binary.write_bytes(b"%PDF\x00\xff\xfe")
    bad = run_cli("code", str(binary), "--backend", "none", cache_dir=base_settings.cache_dir)
    assert bad.returncode == 2 and "error" in bad.stderr
    # Decomposed accents (text copied from a PDF) are composed before coding, and the user is told.
    decomposed = tmp_path / "nfd.txt"
    decomposed.write_text(unicodedata.normalize("NFD", "Paciente con hipertensión arterial."), encoding="utf-8")
    out = run_cli("code", str(decomposed), "--lang", "es", "--backend", "none", "--json",
                  cache_dir=base_settings.cache_dir)
    assert out.returncode == 0 and "NFC" in out.stderr
    assert "I10" in [c["code"] for c in json.loads(out.stdout)["codes"]]


def test_code_uses_the_terms_coders_taught_in_the_app(tmp_path: Path, base_settings):
    from core.schema import CodingResult, Span
    from core.store import DecisionStore

    taught = "Refiere carraspera persistente."
    store = DecisionStore(f"sqlite:///{tmp_path / 'state' / 'decisions.sqlite'}")
    run_id = store.save_run(store.add_note(taught, "pasted", "es"),
                            CodingResult(note_sha256="x", language="es", strategy="ranker", backend="none"),
                            {"language": "es"}, user="ana")
    start = taught.index("carraspera")
    store.record_decision(run_id, "R49.0", "add", user="ana",
                          evidence=[Span(start=start, end=start + len("carraspera"), text="carraspera")])
    note = tmp_path / "note.txt"
    note.write_text("Acude por carraspera.", encoding="utf-8")
    command = ("code", str(note), "--lang", "es", "--backend", "none", "--json")
    learned = json.loads(run_cli(*command, cache_dir=base_settings.cache_dir, state_dir=tmp_path / "state").stdout)
    assert "R49.0" in {c["code"] for c in [*learned["codes"], *learned["candidates"]]}
    fresh = json.loads(run_cli(*command, cache_dir=base_settings.cache_dir).stdout)  # an empty store teaches nothing
    assert "R49.0" not in {c["code"] for c in [*fresh["codes"], *fresh["candidates"]]}


def test_train_reads_the_data_folder_it_is_given(tmp_path: Path, base_settings):
    out = run_cli("train", "--data", str(tmp_path / "missing"), "--lang", "es", cache_dir=base_settings.cache_dir)
    assert out.returncode == 2 and "is not a directory" in out.stderr


@needs_shared_data
def test_evaluate_writes_run_folder(tmp_path: Path, base_settings):
    out_dir = tmp_path / "run"
    out = run_cli("evaluate", "--data", str(SHARED_DATA / "codiesp"), "--split", "dev", "--lang", "es",
                  "--backend", "none", "--limit", "5", "--json", "--out", str(out_dir),
                  cache_dir=base_settings.cache_dir)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["n_cases"] == 5 and 0 < report["metrics"]["micro"]["f1"] <= 1
    assert {"metrics.json", "predictions.jsonl", "pred_D.tsv", "settings.json"} <= {p.name for p in out_dir.iterdir()}
    recorded = json.loads((out_dir / "settings.json").read_text())
    assert recorded["split"] == "dev" and recorded["train_splits"] == ["train"]  # the dictionary never sees dev
    assert recorded["gold_codes"] == "current edition"  # gold moved to the tabular list's edition
    assert recorded["ranker"]["name"].startswith("ranker-es-") and recorded["ranker"]["trained_on"] == ["codiesp:train"]
    # A run folder is not overwritten by accident, nor resumed with other settings (two systems in one figure).
    again = ("evaluate", "--data", str(SHARED_DATA / "codiesp"), "--split", "dev", "--lang", "es", "--backend", "none",
             "--limit", "6", "--out", str(out_dir))
    refused = run_cli(*again, cache_dir=base_settings.cache_dir)
    assert refused.returncode == 2 and "already holds a run" in refused.stderr
    other = run_cli(*again, "--resume", "--strategy", "deterministic", cache_dir=base_settings.cache_dir)
    assert other.returncode == 2 and "other settings" in other.stderr and "strategy='clh'" in other.stderr
    kept = (out_dir / "settings.json").read_text()
    (out_dir / "settings.json").write_text("{cut short")
    unknown = run_cli(*again, "--resume", cache_dir=base_settings.cache_dir)
    assert unknown.returncode == 2 and "missing or unreadable" in unknown.stderr
    # A run begun before gold codes were moved to the current edition is finished as it was scored: as written.
    (out_dir / "settings.json").write_text(json.dumps({k: v for k, v in json.loads(kept).items() if k != "gold_codes"}))
    resumed = run_cli(*again, "--resume", "--json", cache_dir=base_settings.cache_dir)
    assert resumed.returncode == 0 and json.loads(resumed.stdout)["n_cases"] == 6
    assert json.loads(resumed.stdout)["metrics"]["warm_up_ms"] > 0  # loading is not the sixth case's latency
    assert "gold_codes" not in json.loads((out_dir / "settings.json").read_text())


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("CODER_STRATEGY", "bogus", "strategy must be one of"),
    ("CODER_LANGUAGE", "fr", "language must be one of"),
    ("CODER_RETRIEVAL_K", "abc", "retrieval_k must be an integer"),
])
def test_a_bad_setting_is_one_clear_error(variable, value, message, base_settings, monkeypatch):
    monkeypatch.setenv(variable, value)
    out = run_cli("resources", cache_dir=base_settings.cache_dir)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
