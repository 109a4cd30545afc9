"""Settings helpers that need no data: a stored run's settings applied over this machine's."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings, load_settings, with_run_settings


def test_a_reopened_run_takes_its_result_settings_and_keeps_this_machines_paths() -> None:
    here = Settings(data_dir=Path("/here/data"), language="en", strategy="clh", backend="embedded")
    recorded = {"language": "es", "strategy": "ranker", "backend": "none", "code_threshold": "0.55",
                "ranker_merge": False, "data_dir": "/elsewhere/data", "openai_api_key": "***"}
    settings, unusable = with_run_settings(here, recorded)
    assert (settings.language, settings.strategy, settings.backend) == ("es", "ranker", "none")
    assert settings.code_threshold == 0.55 and settings.ranker_merge is False
    assert settings.data_dir == Path("/here/data") and settings.openai_api_key == here.openai_api_key
    assert unusable == []


def test_recorded_values_this_version_cannot_use_are_named_and_left_alone() -> None:
    here = Settings(language="en", strategy="clh")
    settings, unusable = with_run_settings(here, {"strategy": "retired-strategy", "code_threshold": "high",
                                                  "language": "es"})
    assert unusable == ["strategy", "code_threshold"]
    assert (settings.strategy, settings.code_threshold, settings.language) == ("clh", here.code_threshold, "es")


@pytest.mark.parametrize(("name", "value"), [("max_tokens", "0"), ("num_ctx", "-1"), ("threads", "0"),
                                             ("timeout_s", "0"), ("code_threshold", "1.5"), ("retries", "-2")])
def test_numbers_that_would_hang_or_break_a_backend_are_refused(name: str, value: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=f"{name} must be between"):
        load_settings(tmp_path / "none.toml", **{name: value})
