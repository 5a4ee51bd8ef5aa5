"""The course-password login (GSLAB_HUB_AUTH=shared) of a hub whose teachers are not
JupyterHub admins (roles.py says why)."""

from __future__ import annotations

from hmac import compare_digest
from typing import Any

from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
from traitlets import Set


class TeacherPasswordAuthenticator(SharedPasswordAuthenticator):
    """One course password for students, the admin password for the ``teachers`` names;
    nobody becomes a JupyterHub admin by logging in (SharedPasswordAuthenticator would make
    its admin_users admins, with every server of the class open to their browser)."""

    teachers = Set(help="Names that log in with admin_password (GSLAB_HUB_ADMINS) and "
                        "only with it: the course password never opens them.").tag(config=True)

    async def authenticate(self, handler: Any, data: dict[str, str]) -> dict[str, Any] | None:
        username = self.normalize_username(data["username"])
        password = data["password"]
        expected = self.admin_password if username in self.teachers else self.user_password
        if expected and compare_digest(password.encode(), expected.encode()):
            return {"name": username, "admin": False}
        return None
