"""What the test suites share and only tests use: a command run with a deadline whose failure
fails the test with all it printed, a poll with a deadline, a free port. The hub and kernel
client the deployment tests drive is the package's own (grayscott.classroom.client), the one
the class simulator uses."""

from grayscott.classroom.client import free_port
from tests.utils.commands import REPO, run, wait_for

__all__ = ["REPO", "free_port", "run", "wait_for"]
