"""The progress service's store and summary (compose/hub/gslab_hub/progress/store.py), pure:
the verdicts a class posts become the teacher's grid, its counts and its sentences; a student
posting without end stays bounded. The service behind the hub: tests/deploy/test_hub_progress.py."""

from __future__ import annotations

import sys
from pathlib import Path

HUB = Path(__file__).resolve().parents[1] / "compose" / "hub"
sys.path.insert(0, str(HUB))
from gslab_hub.progress import store  # noqa: E402

sys.path.remove(str(HUB))


def class_of_four(tmp_path: Path) -> store.Store:
    db = store.Store(tmp_path / "progress.sqlite")
    db.add("ana", "cpu/3", "check_laplacian", False, "N weight 2")
    db.add("ana", "cpu/3", "check_laplacian", True, "ok")
    db.add("ben", "cpu/3", "check_laplacian", False, "N weight 2")
    db.add("cleo", "cpu/3", "check_laplacian", False, "the 5-point stencil")
    db.add("cleo", "cpu/3", "check_step", False, "forgot dt")
    db.add("ben", "cpu/3", "check_laplacian", False, "N weight 2")
    return db


def test_the_grid_is_each_students_latest_verdict(tmp_path: Path) -> None:
    db = class_of_four(tmp_path)
    grid = store.summary(db.latest(), ["ana", "ben", "cleo", "dan"], db.tries())
    assert grid["students"] == ["ana", "ben", "cleo", "dan"]
    assert grid["exercises"] == ["cpu/3 check_laplacian", "cpu/3 check_step"]
    lap = "cpu/3 check_laplacian"
    assert grid["cells"]["ana"][lap]["passed"] is True and grid["cells"]["ana"][lap]["tries"] == 2
    assert grid["cells"]["ben"][lap] == {**grid["cells"]["ben"][lap], "passed": False,
                                         "message": "N weight 2", "tries": 2}
    assert grid["cells"]["dan"] == {}
    stats = grid["stats"][lap]
    assert (stats["passed"], stats["stuck"], stats["not_tried"], stats["top_count"]) == (1, 2, 1, 1)
    assert grid["stats"]["cpu/3 check_step"]["not_tried"] == 3


def test_the_most_frequent_mistake_is_named(tmp_path: Path) -> None:
    db = store.Store(tmp_path / "p.sqlite")
    for name, message in [("a", "N weight 2"), ("b", "N weight 2"), ("c", "dt"), ("d", "ok")]:
        db.add(name, "cpu/3", "check_laplacian", message == "ok", message)
    grid = store.summary(db.latest(), [], db.tries())
    stats = grid["stats"]["cpu/3 check_laplacian"]
    assert (stats["stuck"], stats["top_mistake"], stats["top_count"]) == (3, "N weight 2", 2)
    sentence = store.stuck_sentence("cpu/3 check_laplacian", stats, 4)
    assert sentence.startswith("3 of 4 stuck on cpu/3 check_laplacian") and "'N weight 2'" in sentence


def test_results_survive_a_new_store_on_the_same_file(tmp_path: Path) -> None:
    class_of_four(tmp_path).db.close()
    again = store.Store(tmp_path / "progress.sqlite")
    assert len(again.history()) == 6 and len(again.history("ben")) == 2


def test_a_student_posting_without_end_stays_bounded(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(store, "MAX_PER_USER", 50)
    db = store.Store(tmp_path / "p.sqlite")
    db.add("ben", "cpu/3", "check_step", True, "ok")
    for k in range(200):
        db.add("flood", "cpu/3", f"check_{k}", False, "x" * 10_000)
    flood = db.history("flood")
    assert len(flood) == 50 and flood[-1].check == "check_199"
    assert all(len(r.message) == store.MAX_MESSAGE for r in flood)
    assert len(db.history("ben")) == 1
