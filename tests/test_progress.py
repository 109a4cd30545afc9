"""The one progress callback: counts, rate and ETA, drawn for a terminal or a log."""

import io

from core.progress import Meter, cli_progress, duration


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_meter_counts_rate_and_eta():
    clock = Clock()
    meter = Meter(unit="texts", clock=clock)
    meter.update(0, 1000)
    assert meter.rate is None and meter.eta is None and meter.fraction == 0.0
    clock.now += 10
    meter.update(250, None)
    assert meter.rate == 25.0 and meter.eta == 30.0 and meter.fraction == 0.25
    assert meter.describe() == "250/1,000 texts · 25/s · about 30 s left"
    clock.now += 30
    meter.update(1000, 1000)
    assert meter.describe() == "1,000/1,000 texts · 25/s · done in 40 s"


def test_work_found_done_does_not_count_in_the_rate():
    clock = Clock()
    meter = Meter(clock=clock)
    meter.update(20_000, 35_000)  # a resumed build: 20,000 texts were embedded before
    clock.now += 10
    meter.update(20_500, None)
    assert meter.rate == 50.0 and meter.eta == 290.0


def test_a_fraction_reads_as_a_percentage():
    clock = Clock()
    meter = Meter(clock=clock)
    meter.update(0.0, 1.0)
    clock.now += 60
    meter.update(0.25, 1.0)
    assert meter.describe() == "25% · about 3 min 00 s left"


def test_duration():
    assert [duration(s) for s in (0, 59.4, 61, 3600 + 120)] == ["0 s", "59 s", "1 min 01 s", "1 h 02 min"]


def test_cli_progress_in_a_log_writes_a_line_per_step_and_the_end():
    out = io.StringIO()
    progress = cli_progress(out, every=3600, tty=False)
    progress("build", "tabular list", 0, 3)
    progress("build", "alphabetical index", 1, 3)  # within `every`: no line
    progress("dense index", "embedding 4 texts", 0, 4)
    progress("dense index", "embedding 4 texts", 4, 4)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[build] tabular list (0/3")
    assert lines[1].startswith("[dense index] embedding 4 texts (0/4")
    assert lines[2].startswith("[dense index] embedding 4 texts (4/4") and "done in" in lines[2]
    assert len(lines) == 3


def test_cli_progress_on_a_terminal_draws_a_bar():
    out = io.StringIO()
    progress = cli_progress(out, tty=True)
    for done in range(0, 11):
        progress("evaluate", "dev cases", done, 10)
    text = out.getvalue()
    assert "evaluate" in text and "10/10" in text and "dev cases" in text


def test_slow_steps_read_as_seconds_each():
    clock = Clock()
    meter = Meter(clock=clock)
    meter.update(0, 8)
    clock.now += 50
    meter.update(2, 8)
    assert meter.describe() == "2/8 · 25 s each · about 2 min 30 s left"
