"""Secrets stay out of logs: no XSRF cookie ids in the hub's log nor in the labs'."""

from __future__ import annotations

import logging


class HideXsrfCookies(logging.Filter):
    """Drops JupyterHub's "Setting new xsrf cookie for <id>" lines (the hub's and each lab's):
    they print the value the user's XSRF token is made from into logs many people read."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Setting new xsrf cookie")


#: The same for the labs, as a ``--ServerApp.logging_config`` argument (no file needs to be in
#: the image): that line comes from tornado's application logger, whose other INFO lines the
#: lab server does not use (its own go to the ServerApp logger).
LAB_LOGGING = {"loggers": {"tornado.application": {"level": "WARNING"}}}
