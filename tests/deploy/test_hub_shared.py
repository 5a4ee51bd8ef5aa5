"""The hub with one course password (GSLAB_HUB_AUTH=shared): any name logs in with it, the
teachers named in GSLAB_HUB_ADMINS with the admin password, nothing else gets in."""

from __future__ import annotations

from tests.deploy.conftest import ADMIN, COURSE, Hub, runs_the_class


def whoami(hub: Hub, name: str, password: str) -> dict[str, object] | None:
    response = hub.login(name, password).get(f"{hub.url}/hub/api/user", timeout=30)
    return response.json() if response.status_code == 200 else None


def test_course_password_and_admin_password(shared_hub: Hub) -> None:
    student = whoami(shared_hub, "anyone", COURSE)
    assert student is not None and student["name"] == "anyone" and student["admin"] is False
    assert whoami(shared_hub, "anyone", "wrong-password") is None
    assert runs_the_class(shared_hub.login("prof", ADMIN), shared_hub)
    assert not runs_the_class(shared_hub.login("anyone", COURSE), shared_hub)
    assert whoami(shared_hub, "prof", COURSE) is None  # teachers need the admin password
    assert whoami(shared_hub, "intruder", ADMIN) is None  # only GSLAB_HUB_ADMINS may use it


def test_admin_tool_explains_shared_mode(shared_hub: Hub) -> None:
    out = shared_hub.script("admin", "prof").stdout
    assert "prof: teacher, logs in with GSLAB_HUB_ADMIN_PASSWORD\n" in out
    # a name outside GSLAB_HUB_ADMINS is anyone's with the course password: refused
    refused = shared_hub.script("admin", "newprof", check=False)
    assert refused.returncode == 2 and "newprof is not in GSLAB_HUB_ADMINS" in refused.stderr
    assert shared_hub.api("GET", "/users/newprof").status_code == 404
