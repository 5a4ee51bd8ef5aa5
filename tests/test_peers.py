"""benchmarks/peers: the runner and the peer scripts, on a small grid, for real."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import use_backend

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "benchmarks" / "peers"


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(PEERS / script), *args], capture_output=True,
                          text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                          timeout=300, check=False)


def test_runner_times_ours_and_the_c_loop_and_checks_them(tmp_path: Path) -> None:
    use_backend("c-openmp")
    done = run("run.py", "--backends", "c-blocked,numba-blocked", "--peers", "c-openmp",
               "--rows", "40", "--cols", "56", "--steps", "8", "--rounds", "2",
               "--check-steps", "30", "--threads", "1", "--output-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    report = json.loads(next(tmp_path.glob("peers-*.json")).read_text())
    rows = {r["peer"]: r for r in report["rows"]}
    assert set(rows) == {"c-blocked", "numba-blocked", "c-openmp"}
    for row in rows.values():
        assert row["agrees"] is True and row["check_steps"] == 30
        assert len(row["ms_rounds"]) == 2 and row["ms_per_step"] > 0
    assert report["threads"] == "1"
    assert "| c-openmp |" in next(tmp_path.glob("peers-*.md")).read_text()


@pytest.mark.parametrize(("script", "package"), [("pystencils_peer.py", "pystencils"),
                                                 ("devito_peer.py", "devito")])
def test_a_missing_peer_is_one_line(script: str, package: str) -> None:
    try:
        __import__(package)
        pytest.skip(f"{package} is installed in this Python")
    except ImportError:
        pass
    done = run(script, "--rows", "8", "--cols", "8")
    assert done.returncode == 1
    assert json.loads(done.stdout) == {"peer": package,
                                       "error": f"{package} is not installed in this Python"}
    assert "Traceback" not in done.stderr


def test_unknown_peer_is_refused() -> None:
    done = run("run.py", "--backends", "", "--peers", "fortran",
               "--rows", "8", "--cols", "8", "--no-save")
    assert done.returncode == 2
    assert "unknown peer(s) fortran" in done.stderr
