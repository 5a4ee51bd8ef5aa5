"""Teachers are not JupyterHub admins: they have the role ``teacher`` (through the group
``teachers``), JupyterHub's admin scopes but ``access:servers`` and the ``shares`` and
``tokens`` that lead to it (sharing a student's server with oneself, a token of hers). The
hub and every lab share one origin (no per-user subdomains at a satellite site), so a
teacher's browser opening a student's server would run whatever page she makes it send,
with the teacher's cookies: one request to the hub's API and she is an admin
(tests/deploy/test_hub_teacher_origin.py). JupyterHub's own admin role cannot be narrowed
(its scopes are fixed), hence a role of our own, and the admin role is the gslab-admin
service's alone (a token in the site's .env, never a browser's cookie).

Pure Python: k8s/jupyterhub/values.yaml holds the same scopes, and
tests/test_deploy_k8s.py keeps the two lists equal.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

TEACHERS = "teachers"
TEACHER_SCOPES = ["admin-ui", "admin:users", "admin:servers", "admin:services", "admin:groups",
                  "list:services", "read:services", "read:hub", "proxy", "shutdown",
                  "access:services", "read:roles", "read:metrics"]


def admin_names_held(database: Path, admins: str) -> list[str]:
    """The names of GSLAB_HUB_ADMINS (comma-separated) that the hub's database knows as users
    who are not teachers yet: with one course password, students who logged in under them."""
    names = [a.strip() for a in admins.split(",") if a.strip()]
    if not names or not database.is_file():
        return []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT name FROM users WHERE admin = 0 AND name IN "
            f"({','.join('?' * len(names))}) AND id NOT IN ("
            "  SELECT m.user_id FROM user_role_map m JOIN roles r ON r.id = m.role_id"
            "  WHERE r.name = 'teacher')", names).fetchall()
    return sorted(row[0] for row in rows)
