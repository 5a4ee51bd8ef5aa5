"""Repeated timings for every comparison the labs ask for, shown as a chart.

A single timing on a shared machine flips: the same "yours vs the package's backend" read
1.53x, then 1.00-1.18x over six reruns, and the GIL demo's NumPy speed-up ranged 0.89x-1.77x.
So a comparison runs each case several times, *interleaved* (A B C, A B C, ...: a burst of
load from a neighbour hits every case alike, not one of them), after one warm-up call each
(Numba and JAX compile on the first call). It reports the median, which one slow run cannot
move, with the spread (fastest and slowest run) beside it, and draws every run as a dot so a
student sees whether two cases really differ or merely overlap.
"""

from __future__ import annotations

import io
import statistics
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: Units a chart or a line can be in: name -> seconds per unit.
UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
#: Characters of title a chart's line holds (7 inches wide): a longer title wraps, else its
#: end is cut off in the notebook (the GIL chart's "... in processes" was)
TITLE_CHARS = 60


@dataclass(frozen=True)
class Timings:
    """Seconds per call (divided by ``per``: steps, cells, ...) of each case, in run order."""

    seconds: dict[str, list[float]]
    #: what one "call" is after division by ``per`` ("step", "cell", "call")
    what: str = "call"

    def median(self, name: str) -> float:
        return statistics.median(self.seconds[name])

    def spread(self, name: str) -> tuple[float, float]:
        """(fastest, slowest) run of ``name``."""
        return min(self.seconds[name]), max(self.seconds[name])

    def ratio(self, slow: str, fast: str) -> float:
        """How many times faster ``fast`` is than ``slow``, by their medians."""
        return self.median(slow) / self.median(fast)

    def middle(self, name: str) -> tuple[float, float]:
        """The middle half of ``name``'s runs (first to third quartile): what one stray run,
        a neighbour's burst of load, cannot stretch."""
        runs = sorted(self.seconds[name])
        if len(runs) < 3:
            return runs[0], runs[-1]
        low, _, high = statistics.quantiles(runs, n=4, method="inclusive")
        return low, high

    def overlap(self, a: str, b: str) -> bool:
        """Whether the middle halves of ``a``'s and ``b``'s runs overlap: then which one is
        faster is not settled by this measurement."""
        (a_lo, a_hi), (b_lo, b_hi) = self.middle(a), self.middle(b)
        return a_lo <= b_hi and b_lo <= a_hi

    def verdict(self, before: str, after: str) -> str:
        """``after`` against ``before`` in words, from this measurement: "N.NNx faster" or
        "N.NNx slower" (by the medians), or "no measurable difference" when their middle
        halves overlap. A notebook prints this instead of a sentence written in advance,
        which the numbers beside it contradicted on a busy 2-core machine (issue #23)."""
        ratio = self.ratio(before, after)
        runs = len(self.seconds[after])
        if self.overlap(before, after):
            return (f"no measurable difference on this machine ({ratio:.2f}x by the medians; "
                    f"the middle runs of {runs} overlap)")
        word = "faster" if ratio > 1 else "slower"
        times = ratio if ratio > 1 else 1 / ratio
        return f"{times:.2f}x {word} on this machine (median of {runs} runs)"

    def fastest(self) -> str:
        return min(self.seconds, key=self.median)

    def lines(self, unit: str = "ms") -> list[str]:
        """One line per case: median and spread in ``unit``, and how it stands to the fastest."""
        scale = UNITS[unit]
        best = self.fastest()
        width = max(len(name) for name in self.seconds)
        out = []
        for name in self.seconds:
            lo, hi = self.spread(name)
            versus = "fastest" if name == best else f"{self.ratio(name, best):.2f}x the fastest"
            out.append(f"{name:<{width}}  {self.median(name) / scale:10.4g} {unit}/{self.what}"
                       f"  (runs {lo / scale:.4g}-{hi / scale:.4g}; {versus})")
        return out

    def chart(self, title: str = "", unit: str = "ms", ax: Any = None) -> Any:
        """Every run as a dot and the median as a bar, one row per case; a log axis when the
        cases differ by more than 20x (a Python loop beside NumPy). Returns the Axes."""
        import matplotlib.pyplot as plt

        scale = UNITS[unit]
        names = list(self.seconds)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.55 * len(names) + 1.2))
        for row, name in enumerate(names):
            values = [s / scale for s in self.seconds[name]]
            ax.plot(values, [row] * len(values), "o", alpha=0.5, color="tab:blue")
            median = self.median(name) / scale
            ax.plot([median, median], [row - 0.3, row + 0.3], color="tab:red", linewidth=2.5)
            ax.annotate(f" {median:.3g}", (median, row + 0.3), fontsize=8, color="tab:red")
        ax.set_yticks(range(len(names)), names)
        ax.set_ylim(len(names) - 0.3, -0.7)  # the first case on top, in reading order
        medians = [self.median(n) for n in names]
        if max(medians) > 20 * min(medians):
            ax.set_xscale("log")
        runs = len(next(iter(self.seconds.values())))
        ax.set_xlabel(f"{unit} per {self.what} ({runs} runs each: dots; median: bar)")
        if title:
            ax.set_title(textwrap.fill(title, TITLE_CHARS))
        ax.grid(axis="x", alpha=0.3)
        return ax


def repeat(cases: Mapping[str, Callable[[], Any]], *, runs: int = 5,
           number: int | Mapping[str, int] = 1, per: float | Mapping[str, float] = 1,
           what: str = "call", warm_up: bool = True) -> Timings:
    """Time each case ``runs`` times, interleaved, after one warm-up call each.

    A run is ``number`` calls; its time is divided by ``number * per`` (``per``: the steps or
    cells one call does). Both can differ per case (a mapping by case name; 1 for a case it
    omits): a Python loop on
    a small corner beside NumPy on the whole grid, compared per cell. A case must finish its
    work before it returns (JAX: ``block_until_ready``; a GPU: synchronize), or the time is
    only that of the launch."""
    def each(value: Any, name: str) -> Any:
        return value.get(name, 1) if isinstance(value, Mapping) else value

    if runs < 1 or any(each(number, name) < 1 for name in cases):
        raise ValueError("runs and number must be at least 1")
    if warm_up:
        for fn in cases.values():
            fn()
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, fn in cases.items():
            calls = each(number, name)
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            seconds[name].append((time.perf_counter() - start) / (calls * each(per, name)))
    return Timings(seconds, what)


def show(timings: Timings, title: str = "", unit: str = "ms", lines: bool = True) -> Timings:
    """Print the lines (unless the caller prints its own) and draw the chart (in a notebook:
    below the cell). Returns ``timings``, so that a cell can say
    ``t = show(repeat(...))`` and then use the numbers."""
    for line in timings.lines(unit) if lines else ():
        print(line)
    try:
        import matplotlib.pyplot  # noqa: F401
    except ImportError:  # the light image: the lines are the result
        return timings
    draw(timings.chart(title, unit).figure)
    return timings


def draw(figure: Any) -> None:
    """Show ``figure`` below the cell as a PNG whatever matplotlib's backend (a test kernel's
    agg too, where ``plt.show()`` shows nothing), once; outside IPython, ``plt.show()``."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        png = io.BytesIO()
        figure.savefig(png, format="png", dpi=90)
        plt.close(figure)
        display(Image(png.getvalue()))
    else:
        plt.show()
