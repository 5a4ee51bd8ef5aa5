"""The guard of the unit suite's isolation: if a test here could see a container engine, a
scheduler or a GPU, a developer machine would pass what a fresh CI machine fails (issue #12).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ENGINE_SUITES, HIDDEN_PROGRAMS, NO_DAEMON, TESTS


def test_no_engine_scheduler_or_gpu_program_is_on_the_path() -> None:
    found = {name: shutil.which(name) for name in HIDDEN_PROGRAMS if shutil.which(name)}
    assert not found, f"the unit suite can see {found}"
    assert os.environ["DOCKER_HOST"] == os.environ["CONTAINER_HOST"] == NO_DAEMON


def test_gslab_sees_only_the_local_runtime_and_no_gpu() -> None:
    """What the launcher decides from, in a process of its own (as every gslab test runs)."""
    doctor = subprocess.run([sys.executable, "-m", "grayscott.launcher", "doctor"],
                            capture_output=True, text=True, check=False,
                            env={**os.environ, "COLUMNS": "200"})
    assert doctor.returncode == 0, doctor.stderr
    rows = {name: next(line for line in doctor.stdout.splitlines() if f"runtime {name} " in line)
            for name in ("docker", "podman", "apptainer", "local")}
    for name in ("docker", "podman", "apptainer"):
        assert "not installed" in rows[name], doctor.stdout
    assert " ok " in rows["local"], doctor.stdout
    assert "none" in next(line for line in doctor.stdout.splitlines() if "NVIDIA GPU" in line)


def test_a_test_can_still_set_up_its_own_stand_in(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Hidden means left off PATH, not forbidden: a stand-in a test puts there is found."""
    stand_in = tmp_path / "apptainer"
    stand_in.write_text("#!/bin/sh\necho 'apptainer version 0.0-stand-in'\n")
    stand_in.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert shutil.which("apptainer") == str(stand_in)


def _collected(*args: str) -> set[Path]:
    """The test files a ``pytest`` with ``args`` collects (run from the repository's root)."""
    listing = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                              "-p", "no:cacheprovider", *args], cwd=TESTS.parent,
                             capture_output=True, text=True, check=False, timeout=300)
    assert listing.returncode == 0, listing.stdout[-2000:] + listing.stderr[-2000:]
    return {TESTS.parent / line.split("::")[0] for line in listing.stdout.splitlines()
            if "::" in line}


def test_a_bare_pytest_is_the_unit_suite_and_a_named_engine_suite_runs() -> None:
    """``make pytest`` runs a bare pytest: it must collect no engine suite (they would find
    no engine here and fail, or worse, find one); ``make test-slurm`` names its folder."""
    unit = _collected()
    assert TESTS / "test_hermetic.py" in unit
    # the unit tests sit at the top of tests/; every folder in it is an engine suite
    assert {p.name for p in TESTS.iterdir() if (p / "conftest.py").exists()} == set(ENGINE_SUITES)
    engine = sorted(str(p.relative_to(TESTS)) for p in unit if p.parent != TESTS)
    assert not engine, f"a bare pytest collects {engine}"
    named = _collected("tests/slurm", "tests/launcher/test_log_cap.py")
    assert named and {p.relative_to(TESTS).parts[0] for p in named} == {"slurm", "launcher"}
