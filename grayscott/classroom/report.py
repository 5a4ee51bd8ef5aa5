"""The class's report: figures summarised (p50, p95, max) and the markdown a site reads."""

from __future__ import annotations

from typing import Any


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(values: list[float]) -> dict[str, float | int] | None:
    """n, p50, p95, max and mean of one figure over the students; None for no students."""
    if not values:
        return None
    return {"n": len(values), "p50": round(quantile(values, 0.5), 2),
            "p95": round(quantile(values, 0.95), 2), "max": round(max(values), 2),
            "mean": round(sum(values) / len(values), 2)}


def delta(a: float | None, b: float | None) -> float | None:
    """b - a of two readings, None when either could not be read."""
    return None if a is None or b is None else round(b - a, 2)


def markdown(report: dict[str, Any]) -> str:
    def row(label: str, key: str) -> str:
        v = report.get(key) or {}
        return f"| {label} | {v.get('p50', '-')} | {v.get('p95', '-')} | {v.get('max', '-')} |"

    st, m, cpu = report["settings"], report["machine"], report["cpu_s"]
    mem = report["memory_mib"]
    lines = [
        f"# A class at the hub: {st['students']} students, {st['pattern']}",
        "",
        f"{report['date']}, {m['host']} ({m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB), "
        f"load average {m['load_before']} before, {m['load_after']} after; "
        f"Docker {report['versions']['docker']}, JupyterHub "
        f"{report['versions']['jupyterhub']}, {st['students']} x {report['versions']['image']} "
        f"at {st['mem_limit']} / {st['cpu_limit']} CPU each, {st['docker_threads']} Docker "
        f"threads; commit {report['versions']['repository_commit']}. Produced by "
        "`python -m grayscott.classroom` (see its docstring for what a student does).",
        "",
        f"**Failures: {report['failures']}** of {report['students']}.",
        "",
        "| seconds | p50 | p95 | max |", "|---|---|---|---|",
        row("login form", "login_s"), row("spawn request to ready", "spawn_to_ready_s"),
        row("spawn request to the lab page", "spawn_to_lab_s"),
        row("kernel start", "kernel_start_s"), row("cell round trip", "cell_round_trip_s"),
        row("warm cell", "warm_cell_s"), row("stop", "stop_s"),
        "",
        f"Walls: all arrived in {report['arrival_wall_s']} s, the cell for all in "
        f"{report['cell_wall_s']} s, all stopped in {report['stop_all_wall_s']} s.",
        "",
        f"Memory (MiB): hub {mem['hub']}; a lab idle p50 "
        f"{(mem['lab_idle'] or {}).get('p50')} (max {(mem['lab_idle'] or {}).get('max')}), "
        f"after the cell p50 {(mem['lab_after_cell'] or {}).get('p50')} "
        f"(max {(mem['lab_after_cell'] or {}).get('max')}); disk per student "
        f"{(report['disk_per_student_mib'] or {}).get('p50')} MiB.",
        "",
        f"CPU-seconds: a lab container up to ready p50 "
        f"{(cpu['lab_container_at_ready'] or {}).get('p50')}; hub {cpu['hub_during_arrival']} "
        f"and Docker daemons {cpu['engine_during_arrival']} for the whole arrival; "
        f"{cpu['per_spawn_total']} per spawn in all. CPU floor for the class: "
        f"{report['cpu_floor_s']} s, the larger of N x per spawn / cores "
        f"({report['cpu_floor_parts_s']['machine']}) and one lab's CPU-seconds under its "
        f"limit ({report['cpu_floor_parts_s']['one_lab_under_its_limit']}); p95 ready / floor = "
        f"{report['p95_over_floor']}.",
    ]
    ch = report.get("checks")
    if ch:
        lat = ch["check_to_grid_s"] or {}
        lines += ["", f"Check cells: {ch['check_cells']} run ({ch['passed']} passed), "
                  f"{ch['on_grid']} on the teacher's grid, **{ch['lost']} lost**; from a cell's end "
                  f"to the grid (polled every {ch['poll_interval_s']} s) p50 {lat.get('p50')} s, "
                  f"**p95 {lat.get('p95')} s**, max {lat.get('max')} s (the page refreshes every "
                  f"1 s on top); all students' check cells took {ch['wall_s']} s; the teacher's "
                  f"{ch['teacher_polls']} polls took p50 {(ch.get('teacher_poll_s') or {}).get('p50')} s, "
                  f"p95 {(ch.get('teacher_poll_s') or {}).get('p95')} s."]
    solo = report.get("one_spawn")
    if solo:
        marks = ", ".join(f"{k} {v}" for k, v in solo["seconds_after_request"].items())
        lines += ["", f"One spawn alone (seconds after the request): {marks}; lab container "
                  f"{solo['lab_container_cpu_s']} CPU-s, Docker daemons {solo['engine_cpu_s']}."]
    return "\n".join(lines) + "\n"

