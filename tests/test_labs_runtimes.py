"""The run-time report of the solution notebooks (``python -m grayscott.labs.runtimes``), on the
real notebooks in real kernels, at the tiny grid."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from grayscott.labs import runtimes

pytest.importorskip("nbclient")


def test_the_report_has_each_notebook_its_seconds_and_slowest_cells(tmp_path: Path) -> None:
    before = dict(os.environ)
    assert runtimes.main(["--size", "tiny", "--only", "cpu/3_", "--out", str(tmp_path)]) == 0
    assert dict(os.environ) == before  # the settings for the kernels did not leak
    [written] = tmp_path.glob("labs-runtimes-*.json")
    report = json.loads(written.read_text(encoding="utf-8"))
    assert report["size"] == "tiny" and report["machine"]["cpus"] >= 1
    assert {"grayscott", "numpy", "nbclient"} <= set(report["versions"])
    [(name, result)] = report["notebooks"].items()
    assert name == "cpu/3_Python_Implementation" and result["ended"] == "ran"
    assert result["seconds"] > 0 and result["over_bar"] == (result["seconds"] > runtimes.BAR_S)
    slowest = result["slowest_cells"]
    assert 1 <= len(slowest) <= runtimes.SLOWEST
    assert [c["seconds"] for c in slowest] == sorted((c["seconds"] for c in slowest), reverse=True)
    assert all(c["starts"] for c in slowest)  # the cell's first line: which cell to look at


def test_no_matching_notebook_is_one_line_and_exit_2(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert runtimes.main(["--only", "no-such-notebook", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no-such-notebook" in err
    assert not list(tmp_path.iterdir())
