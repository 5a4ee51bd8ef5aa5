"""The image tests' fixtures and collection rule, shared by the launcher tests: a test with
no runtime to run on here (serving under Apptainer) is deselected, not skipped."""

from tests.images.conftest import pytest_collection_modifyitems, workdir

__all__ = ["pytest_collection_modifyitems", "workdir"]
