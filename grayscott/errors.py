"""Errors the command line turns into one clear line and exit code 2 (never a traceback)."""

from __future__ import annotations


class GrayScottError(Exception):
    """Base class for errors that carry a message meant for the user."""

    exit_code = 2


class UsageError(GrayScottError):
    """Bad input: a grid too small, a non-positive count, an unknown name."""


class BackendUnavailable(GrayScottError):
    """The backend's library, GPU or driver is missing; the message says which and the fix."""


class OutputError(GrayScottError):
    """The output file exists (without --force) or cannot be written."""


class DiskFull(OutputError):
    """The output's file system is full, or a quota or file-size limit was reached; the run
    stopped and its file holds the frames finished."""


class TooLarge(GrayScottError):
    """The run needs more memory or disk than this process has: refused before it starts,
    with both numbers and the way out."""
