"""The labs' MPI halo exchange (labs/scale, halo.py as its solution notebook writes it) on two
ranks of one compute node and on one rank of each of two, same grid and steps, in one run on
the cluster of cluster.sh (started): benchmarks/slurm-two-nodes-DATE.json.

Why both: the ranks of a 2-node job exchange their halo rows over the cluster's network
(TCP between the nodes' containers), those of a 1-node job through shared memory; the
difference is what crossing nodes costs the lab's program. On this test cluster both nodes
share one machine's cores, so it measures the path, not more cores.

    python scripts/slurm/bench_nodes.py [--rows 1080 --cols 1920 --steps 100 --repeat 5]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "scripts" / "slurm" / "cluster.sh"
#: the two layouts of two ranks: sbatch's options for each
LAYOUTS = {"1 node x 2 ranks": "-N1 --ntasks=2 -w gslab-node1",
           "2 nodes x 1 rank": "-N2 --ntasks-per-node=1"}


def on_login(command: str, *, root: bool = False) -> str:
    """``command`` (bash) on the login node, as the student (or root): its stdout."""
    done = subprocess.run(["bash", str(CLUSTER), "root" if root else "exec", "bash", "-c", command],
                          capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        sys.exit(f"error: {command!r} on the login node: {done.stderr.strip() or done.stdout}")
    return done.stdout


def halo_program() -> str:
    notebook = nbformat.read(REPO / "labs" / "scale" / "solutions" / "1_MPI_Halo.ipynb", as_version=4)
    cell = next(c for c in notebook.cells
                if c.cell_type == "code" and c.source.startswith("%%writefile halo.py"))
    return str(cell.source.split("\n", 1)[1]) + "\n"


def run_layout(sif_dir: str, folder: str, options: str, grid: list[str]) -> dict[str, object]:
    """One job (sbatch -W: waits) of hpc/gray-scott-mpi.sbatch; halo.py's own times."""
    out = f"halo-{time.monotonic_ns()}.npz"
    job = on_login(f"cd {folder} && GSLAB_SIF_DIR={sif_dir} sbatch -W --parsable {options} "
                   f"-c 1 --mem-per-cpu=2G {REPO}/hpc/gray-scott-mpi.sbatch halo.py "
                   f"{' '.join(grid)} --out {out}").strip().split(";")[0]
    log = on_login(f"cat {folder}/gray-scott-mpi-{job}.out")
    match = re.search(r"2 ranks, \d+x\d+, \d+ steps: ([\d.]+) s \(halo exchange ([\d.]+) s\)", log)
    if not match:
        sys.exit(f"error: job {job} did not report its times:\n{log}")
    nodes = on_login(f"sacct -n -X -P -j {job} -o NodeList").strip()
    return {"seconds": float(match[1]), "halo_seconds": float(match[2]), "job": int(job),
            "nodes": nodes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1080)
    parser.add_argument("--cols", type=int, default=1920)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sif-dir", default=str(REPO / "build" / "sif"))
    args = parser.parse_args()
    grid = ["--rows", str(args.rows), "--cols", str(args.cols), "--steps", str(args.steps)]
    sif_dir = str(Path(args.sif_dir).resolve())

    load_before = os.getloadavg()[0]
    folder = f"/home/student/bench-nodes-{time.time_ns()}"
    on_login(f"mkdir -p {folder} && cat > {folder}/halo.py <<'PY'\n{halo_program()}PY")
    # the layouts in turn, so that what else the machine does weighs on both alike
    runs: dict[str, list[dict[str, object]]] = {name: [] for name in LAYOUTS}
    for _ in range(args.repeat):
        for name, options in LAYOUTS.items():
            runs[name].append(run_layout(sif_dir, folder, options, grid))
    best = {name: min(float(str(r["seconds"])) for r in rs) for name, rs in runs.items()}
    best_halo = {name: min(float(str(r["halo_seconds"])) for r in rs) for name, rs in runs.items()}
    versions = {
        "slurm": on_login("sinfo -V").strip(),
        "apptainer": subprocess.run(["bash", str(CLUSTER), "root", "--on", "gslab-node1",
                                     "apptainer", "--version"], capture_output=True, text=True,
                                    check=True).stdout.strip(),
        "docker": subprocess.run(["docker", "version", "-f", "{{.Server.Version}}"],
                                 capture_output=True, text=True, check=True).stdout.strip(),
        "sif": sorted(p.name for p in Path(sif_dir).glob("*light.sif")),
    }
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    date = datetime.date.today().isoformat()
    report = {
        "what": "labs/scale halo.py (numpy strips, MPI halo exchange) on 2 ranks through "
                "hpc/gray-scott-mpi.sbatch (srun --mpi=pmi2 + apptainer exec), same grid and "
                "steps, 1 node vs 2 nodes of scripts/slurm/cluster.sh",
        "date": date,
        "machine": {"cpu": cpu, "cores": len(os.sched_getaffinity(0)),
                    "note": "both compute nodes are containers on this one machine",
                    "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]}},
        "versions": versions,
        "grid": {"rows": args.rows, "cols": args.cols, "steps": args.steps},
        "runs": runs,
        "best_seconds": best,
        "best_halo_seconds": best_halo,
        "two_nodes_over_one": round(best["2 nodes x 1 rank"] / best["1 node x 2 ranks"], 3),
    }
    out = REPO / "benchmarks" / f"slurm-two-nodes-{date}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    on_login(f"rm -rf {folder}")
    print(json.dumps(best), "->", out.relative_to(REPO))


if __name__ == "__main__":
    main()
