"""Row bands for the temporal-blocking backends (``numba-blocked``, ``c-blocked``): threads
take the interior a band of rows at a time, so both split the rows the same way."""

from __future__ import annotations

import numpy as np


def band_edges(rows: int, bands: int) -> np.ndarray:
    """Interior row boundaries (1-based) of ``bands`` nearly equal bands."""
    bands = max(1, min(bands, rows))
    return np.linspace(1, rows + 1, bands + 1).round().astype(np.int64)
