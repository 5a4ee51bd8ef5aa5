"""Singularity: the name older clusters still run the lab's ``.sif`` files under.

SingularityCE (3.6 and later) and Apptainer's ``singularity`` alias take the same command
line as Apptainer for everything gslab asks (``run/exec --containall --bind --env --pwd
--nv``) and read the same ``.sif`` files; only the program and the prefix of the variables
that carry secrets into the container differ. So this runtime is Apptainer's, renamed.
"""

from __future__ import annotations

from grayscott.launcher.apptainer import ApptainerRuntime
from grayscott.launcher.runtime import ContainerSpec


class SingularityRuntime(ApptainerRuntime):
    name = "singularity"
    program = "singularity"

    def secret_environment(self, spec: ContainerSpec) -> dict[str, str]:
        """``SINGULARITYENV_NAME`` sets ``NAME`` in the container (Apptainer honours it too)."""
        return {f"SINGULARITYENV_{key}": value for key, value in spec.secret_env.items()}
