"""The labs' repeated timings: interleaved runs, per-call division, medians, the chart."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest

from grayscott.labs import timing


class Clock:
    """A clock that only the timed work moves: each case advances it by its own cost."""

    def __init__(self) -> None:
        self.now = 0.0
        self.calls: list[str] = []

    def work(self, name: str, cost: float):
        def call() -> None:
            self.calls.append(name)
            self.now += cost
        return call


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(timing.time, "perf_counter", lambda: fake.now)
    return fake


def test_runs_are_interleaved_after_one_warm_up_each(clock: Clock) -> None:
    timing.repeat({"a": clock.work("a", 1.0), "b": clock.work("b", 2.0)}, runs=3)
    assert clock.calls == ["a", "b"] + ["a", "b"] * 3


def test_time_is_per_call_and_per_unit_each_case_its_own(clock: Clock) -> None:
    t = timing.repeat({"loop": clock.work("loop", 8.0), "slices": clock.work("slices", 0.5)},
                      runs=3, number={"slices": 4}, per={"loop": 4, "slices": 100}, what="cell")
    assert t.seconds["loop"] == [2.0, 2.0, 2.0]  # 8 s per call / 4 cells
    assert t.seconds["slices"] == [0.005] * 3  # 4 calls of 0.5 s / (4 x 100 cells)
    assert t.ratio("loop", "slices") == pytest.approx(400) and t.fastest() == "slices"
    assert clock.calls.count("slices") == 1 + 3 * 4


def test_median_ignores_one_slow_run_and_overlap_says_no_clear_winner() -> None:
    t = timing.Timings({"a": [1.0, 1.1, 9.0], "b": [1.05, 1.2, 1.3], "c": [3.0, 3.1, 3.2]})
    assert t.median("a") == 1.1 and t.spread("a") == (1.0, 9.0)
    assert t.overlap("a", "b") and not t.overlap("b", "c")
    # one stray run (a neighbour's load) does not make two clearly different cases overlap
    stray = timing.Timings({"fast": [0.1, 0.11, 0.1, 0.12, 7.0], "slow": [4.3, 4.4, 4.2, 4.5, 4.4]})
    assert not stray.overlap("fast", "slow") and stray.middle("fast")[1] < 1
    lines = t.lines("s")
    assert "fastest" in lines[0] and "2.82x the fastest" in lines[2]


def test_chart_has_a_row_per_case_and_a_log_axis_for_far_apart_cases() -> None:
    near = timing.Timings({"x": [1e-3, 2e-3], "y": [3e-3, 4e-3]}, what="step").chart("t")
    assert [t.get_text() for t in near.get_yticklabels()] == ["x", "y"]
    assert near.get_xscale() == "linear" and "ms per step" in near.get_xlabel()
    far = timing.Timings({"loop": [1.0], "numpy": [0.01]}).chart()
    assert far.get_xscale() == "log"


def test_a_long_title_wraps_inside_the_figure() -> None:
    title = "The GIL: the same work one after another, in threads, in processes"
    cases = ("Python, one after another", "Python, 2 threads", "NumPy, 2 threads")
    ax = timing.Timings({name: [1e-3] for name in cases}).chart(title)  # long labels: axes right
    figure = ax.figure
    figure.tight_layout()
    figure.canvas.draw()
    box = ax.title.get_window_extent()
    assert ax.get_title().replace("\n", " ") == title
    assert box.x0 >= 0 and box.x1 <= figure.bbox.width  # nothing cut off at the edges


def test_bad_counts_are_refused(clock: Clock) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        timing.repeat({"a": clock.work("a", 1.0)}, runs=0)


def test_the_verdict_is_read_from_the_runs_not_written_in_advance() -> None:
    """cpu/2 once printed "threads do help NumPy" beside a measured 0.86x: the sentence now
    comes from the runs, and says "no measurable difference" when they overlap."""
    t = timing.Timings({"one after another": [2.0, 2.1, 2.2, 2.0], "threads": [1.0, 1.1, 1.0, 1.05],
                        "busy threads": [2.3, 2.4, 2.5, 2.45], "same": [2.05, 2.1, 2.15, 2.0]})
    assert t.verdict("one after another", "threads").startswith("2.00x faster on this machine")
    assert t.verdict("one after another", "busy threads").startswith("1.18x slower on this machine")
    assert t.verdict("one after another", "same").startswith("no measurable difference on this machine")
