"""The image tests' fixtures that the launcher tests share."""

from tests.images.conftest import workdir

__all__ = ["workdir"]
