"""Gray-Scott Lab: the Gray-Scott reaction-diffusion model on every Python HPC backend.

``grayscott.model`` holds the model (constants, initial state, stencils, update),
``grayscott.backends`` the registry of backends, ``grayscott.simulation`` the run loop with
its HDF5 writer thread, and ``grayscott.cli`` the ``grayscott`` command.
"""

from grayscott.model import Params, initial_state

__version__ = "0.1.0"
__all__ = ["Params", "__version__", "initial_state"]
