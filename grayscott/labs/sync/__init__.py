"""Course updates that never lose a student's work: a three-way, cell-aware sync of the labs.

The course's labs (the image's ``/opt/labs``, or a folder, tarball or git checkout a site
points to) flow into the student's copy (``/work/labs``) at every lab start and on demand
(``grayscott labs sync``). The third side is the version the student last received, kept in
``<labs>/.sync/base``: only with it can a sync tell "the student changed this" from "the course
changed this", so that each side's changes survive. Notebooks merge cell by cell (nbformat's
cell ids), never line by line: a line-based merge of JSON is what silently drops a hint cell
and a fixed cell (nbgitpuller's case).

Modules: ``tree`` (what a labs folder holds, its version), ``plan`` (per file: add, update,
merge, keep...), ``notebook`` (the cell merge), ``report`` (SYNC-REPORT.md and the log line),
``apply`` (backup, write, new base).
"""

from grayscott.labs.sync.apply import sync_labs
from grayscott.labs.sync.report import SyncReport

__all__ = ["SyncReport", "sync_labs"]
