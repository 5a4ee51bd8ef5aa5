"""The cluster hub's spawner: batchspawner's SlurmSpawner running the Gray-Scott Lab's jupyter
.sif with Apptainer on a compute node, and the CPU and GPU profiles wrapspawner offers.

The job script is batch_script.sh.j2 (next to this file); each profile fills in the image
(``req_sif``), Apptainer's ``--nv`` for a GPU (``req_nv``) and what it asks Slurm for.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from batchspawner import SlurmSpawner
from traitlets import Unicode

HERE = Path(__file__).resolve().parent


class GslabSlurmSpawner(SlurmSpawner):
    """SlurmSpawner with the lab's job script; ``req_*`` traits are the script's variables."""

    batch_script = Unicode((HERE / "batch_script.sh.j2").read_text()).tag(config=True)
    req_sif = Unicode(help="The .sif the job runs").tag(config=True)
    req_nv = Unicode("", help="--nv for a GPU image (Apptainer's NVIDIA libraries)").tag(
        config=True)


def profiles(sif_dir: str, *, cpus: int = 2, memory: str = "4G", runtime: str = "02:00:00",
             partition: str = "", gpu_partition: str = "") -> list[tuple[str, str, Any, dict[str, str]]]:
    """wrapspawner.ProfilesSpawner's profiles: (title, key, spawner class, its settings)."""
    common = {"req_nprocs": str(cpus), "req_memory": memory, "req_runtime": runtime}
    cpu = {**common, "req_partition": partition,
           "req_sif": shlex.quote(f"{sif_dir}/gray-scott-lab_cpu-jupyter.sif")}
    gpu = {**common, "req_partition": gpu_partition or partition, "req_ngpus": "1",
           "req_nv": "--nv", "req_sif": shlex.quote(f"{sif_dir}/gray-scott-lab_gpu-jupyter.sif")}
    return [
        (f"Gray-Scott Lab, CPU ({cpus} cores, {memory}, {runtime})", "cpu", GslabSlurmSpawner, cpu),
        (f"Gray-Scott Lab, GPU (1 GPU, {cpus} cores, {memory}, {runtime})", "gpu",
         GslabSlurmSpawner, gpu),
    ]
