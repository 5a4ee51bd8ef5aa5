"""A student who tries to become a teacher (issue #22, attack 1), against a real hub.

Teachers run the class (the hub's admin page, users, servers), made by ``make hub-admin``
(compose/hub/gslab-hub-admin) or named in GSLAB_HUB_ADMINS. A student
who signs up under a teacher's name before the teacher is added, or who logs in under it with
the course password, must never end up holding that teacher's account: not with her own
password, not with the session she already has.

Run by ``make test-hub-hostile``."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.deploy.conftest import COURSE, Hub, runs_the_class

SQUATTER_PASSWORD = "Squatter-Password-2026!"


def signup(hub: Hub, name: str, password: str) -> None:
    """The native authenticator's sign-up form, as a student fills it in."""
    session = requests.Session()
    session.trust_env = False
    session.verify = hub.verify
    session.get(f"{hub.url}/hub/signup", timeout=30)
    response = session.post(f"{hub.url}/hub/signup", timeout=30, data={
        "username": name, "signup_password": password,
        "signup_password_confirmation": password, "_xsrf": session.cookies.get("_xsrf", "")})
    assert response.status_code == 200 and "has been sent to the admin" in response.text, (
        response.text[-2000:])


def whoami(session: requests.Session, hub: Hub) -> dict[str, object] | None:
    response = session.get(f"{hub.url}/hub/api/user", timeout=30)
    return response.json() if response.status_code == 200 else None


def test_a_pending_signup_under_a_teachers_name_is_never_promoted_with_its_password(
        hub: Hub) -> None:
    """The student signs up as ``prof-x`` first; ``make hub-admin USERS=prof-x`` must not
    approve her account and make it admin with the password she chose."""
    signup(hub, "prof-x", SQUATTER_PASSWORD)
    result = hub.script("admin", "prof-x")
    line = result.stdout.strip().splitlines()[-1]
    assert whoami(hub.login("prof-x", SQUATTER_PASSWORD), hub) is None, (
        f"the student's own password opens the new admin account ({line})")
    assert line.startswith("prof-x: teacher, password "), result.stdout
    assert "replaced" in line, line  # the teacher is told why the password is new
    assert runs_the_class(hub.login("prof-x", line.split("password ")[1].split()[0]), hub)


def test_a_name_taken_with_the_course_password_is_never_made_a_teacher(shared_hub: Hub) -> None:
    """With one course password anyone may log in under any name, ``prof-y`` included; the
    admin tool must not turn that name (and the student's open session) into a teacher's."""
    hub = shared_hub
    student = hub.login("prof-y", COURSE)
    me = whoami(student, hub)
    assert me is not None and not runs_the_class(student, hub)
    result = hub.script("admin", "prof-y", check=False)
    assert whoami(student, hub) == me and not runs_the_class(student, hub), (
        "the student's session became a teacher's")
    assert hub.api("GET", "/users/prof-y").json()["admin"] is False
    assert result.returncode == 2, result.stdout
    error = result.stderr.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: prof-y"), result.stderr
    assert "GSLAB_HUB_ADMINS" in error[0]


def test_the_hub_refuses_a_teacher_name_a_student_already_holds(shared_hub: Hub) -> None:
    """The teacher adds ``prof-z`` to GSLAB_HUB_ADMINS and restarts the hub after a student
    logged in as ``prof-z``: the hub says so in one line instead of making her session (and
    the lab she filled) a teacher's."""
    hub = shared_hub
    student = hub.login("prof-z", COURSE)
    assert whoami(student, hub) is not None
    env_file = Path(hub.env["HUB_ENV_FILE"])
    before = env_file.read_text()
    env_file.write_text(before.replace("GSLAB_HUB_ADMINS=prof\n", "GSLAB_HUB_ADMINS=prof,prof-z\n"))
    try:
        result = hub.script("up", check=False)
        assert result.returncode == 2, result.stdout + result.stderr
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and "prof-z" in last, result.stderr
    finally:
        env_file.write_text(before)
        hub.script("up")
    assert whoami(student, hub) is not None and not runs_the_class(student, hub)
