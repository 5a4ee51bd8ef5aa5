"""Backends of the Gray-Scott model, one file each, registered by name (see ``base``)."""

from grayscott.backends.base import Backend, available, create, get, names, register

__all__ = ["Backend", "available", "create", "get", "names", "register"]
