"""Shared pytest configuration. Markers are registered here so no engineer's ini file has to list them."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "protocol: talks to a local stand-in server speaking a third-party protocol")
    config.addinivalue_line("markers", "gpu: needs a GPU (skipped or deselected on CPU-only machines)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds (real model runs, subprocess servers)")
