"""The class simulator (``python -m grayscott.classroom``, ``make hub-class``) with a small class, both
arrival patterns: every student logs in through the form, spawns, runs the lab cell over the
kernel websocket and stops, with zero failures; the report holds what a site reads; nothing
of the class's hub is left on the engine afterwards. The committed N = 40 reports come from
the same script on a quiet machine (benchmarks/hub-class-*.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.utils import run

STUDENTS = 3


def simulate(out: Path, prefix: str, *args: str) -> dict[str, object]:
    result = run(sys.executable, "-m", "grayscott.classroom", "-n", str(STUDENTS),
                 "--prefix", prefix, "--out", out, *args, check=False, timeout=900)
    reports = sorted(out.glob("hub-class-*.json"))
    assert result.returncode == 0 and len(reports) == 1, (
        f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    assert (reports[0].with_suffix(".md")).read_text().startswith("# A class at the hub")
    # the class's hub, labs and volumes are gone
    for kind in ("ps", "volume"):
        listing = run("docker", *(["ps", "-a"] if kind == "ps" else ["volume", "ls"]), "-q",
                      "--filter", f"name=^{prefix}-").stdout.split()
        assert listing == [], f"left behind by the class: {kind} {listing}"
    report: dict[str, object] = json.loads(reports[0].read_text())
    return report


def check_report(report: dict[str, object], pattern: str) -> None:
    assert report["students"] == STUDENTS and report["failures"] == 0, report["failed"]
    assert report["settings"]["pattern"] == pattern  # type: ignore[index]
    for key in ("login_s", "spawn_to_ready_s", "spawn_to_lab_s", "kernel_start_s",
                "cell_round_trip_s", "warm_cell_s", "stop_s"):
        figures = report[key]
        assert isinstance(figures, dict) and figures["n"] == STUDENTS, (key, figures)
        assert 0 < figures["p50"] <= figures["p95"] <= figures["max"], (key, figures)
    assert report["labs_left_running"] == 0
    memory = report["memory_mib"]
    assert isinstance(memory, dict)
    assert memory["hub"]["container"] > 0 and memory["hub"]["proxy"] > 0
    assert memory["lab_idle"]["n"] == memory["lab_after_cell"]["n"] == STUDENTS
    assert memory["lab_after_cell"]["p50"] > memory["lab_idle"]["p50"]  # the kernel runs
    assert report["disk_per_student_mib"]["n"] == STUDENTS  # type: ignore[index]
    cpu = report["cpu_s"]
    assert isinstance(cpu, dict) and cpu["per_spawn_total"] > 0
    assert report["cpu_floor_s"] and report["p95_over_floor"]
    for field in ("host", "cores", "memory_gib", "cpu"):
        assert report["machine"][field], field  # type: ignore[index]
    assert report["versions"]["jupyterhub"].startswith("5.")  # type: ignore[index]


@pytest.mark.usefixtures("docker_engine")
def test_a_small_class_arrives_in_a_burst(tmp_path: Path) -> None:
    report = simulate(tmp_path, "gslab-class-test-burst", "--pattern", "burst")
    check_report(report, "burst")
    solo = report["one_spawn"]
    assert isinstance(solo, dict)
    marks = solo["seconds_after_request"]
    assert 0 < marks["created"] <= marks["started"] <= marks["server_listening"] \
        <= marks["ready_at_hub"] <= marks["lab_page"], marks
    assert solo["lab_container_cpu_s"] > 0


@pytest.mark.usefixtures("docker_engine")
def test_a_small_class_arrives_staggered(tmp_path: Path) -> None:
    window = 12.0
    report = simulate(tmp_path, "gslab-class-test-stag", "--pattern", "staggered",
                      "--window", str(window), "--no-solo")
    check_report(report, "staggered")
    assert report["one_spawn"] is None
    # the last student set off (N - 1) / N of the window after the first
    assert report["arrival_wall_s"] >= window * (STUDENTS - 1) / STUDENTS  # type: ignore[operator]
