"""The teacher's page in a real browser (Debian's chromium), during a class: a teacher logs in
through the hub's form and opens the progress service from the hub's home page; the grid shows
the class, a student's history opens on a click, a student's message is shown as text (never
run as HTML in the teacher's browser); a student's browser sees her own row only.

The class: 12 students whose check verdicts are posted with their own tokens through the hub's
proxy (the messages are what grayscott.labs' checks print for real wrong answers); the kernel
path of a check cell is tests/deploy/test_hub_progress.py's. The screenshot is committed as
docs/screenshots/teacher-progress.png (the README shows it).
"""

from __future__ import annotations

import contextlib
import io

import requests
from playwright.sync_api import Browser, Page

from grayscott import model
from grayscott.labs import checks
from tests.deploy.conftest import Hub
from tests.deploy.test_hub_takeover import signup
from tests.utils import REPO

PROGRESS = "/services/progress/"
SCREENSHOT = REPO / "docs" / "screenshots" / "teacher-progress.png"
XSS = '<img src=x onerror="window.__pwned = 1">'


def refusal(check: object, answer: object) -> str:
    """What a check prints for a wrong answer (its one line, after NOT YET)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert check(answer, raise_on_failure=False) is False  # type: ignore[operator]
    return out.getvalue().split("NOT YET - ", 1)[1].strip()


def class_verdicts() -> list[tuple[str, str, bool, str]]:
    """(notebook, check, passed, message) per student: a class mid-lesson."""
    five = refusal(checks.check_laplacian, lambda a: model.laplacian_weighted(a, model.STENCIL_5))
    no_centre = refusal(checks.check_laplacian, lambda a: model.laplacian(a) + 8 * a[1:-1, 1:-1])
    lap = ("cpu/3_Python_Implementation", "check_laplacian")
    return [(*lap, False, five), (*lap, True, "ok"), (*lap, False, five), (*lap, False, no_centre),
            (*lap, True, "ok"), (*lap, False, five), (*lap, True, "ok"), (*lap, True, "ok")]


def post(hub: Hub, user: str, notebook: str, check: str, passed: bool, message: str) -> None:
    made = hub.api("POST", f"/users/{user}/tokens", json={"scopes": ["access:services!service=progress"]})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    response = requests.post(f"{hub.url}{PROGRESS}api/results", timeout=30,
                             headers={"Authorization": f"token {token}"},
                             json={"notebook": notebook, "check": check, "passed": passed,
                                   "message": message})
    assert response.status_code == 201, response.text


def log_in(page: Page, hub: Hub, user: str, password: str) -> None:
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_load_state()


def test_the_teacher_sees_the_class_and_a_student_only_herself(hub: Hub, browser: Browser) -> None:
    teacher, teacher_password = "prof-grid", hub.make_teacher("prof-grid")
    student, student_password = "pupil-zoe", "Pupil-Zoe-2026!"
    signup(hub, student, student_password)
    approver = hub.login(teacher, teacher_password)
    assert approver.get(f"{hub.url}/hub/authorize/{student}", timeout=30).status_code == 200
    hub.login(student, student_password)  # the hub's user exists from her first login

    names = [f"student{k:02d}" for k in range(1, 13)]
    for name in names:
        assert hub.api("POST", f"/users/{name}").status_code == 201
    verdicts = class_verdicts()
    for name, (notebook, check, passed, message) in zip(names, verdicts, strict=False):
        post(hub, name, notebook, check, passed, message)
    post(hub, names[0], "cpu/3_Python_Implementation", "check_step", False, XSS)
    post(hub, student, "cpu/3_Python_Implementation", "check_laplacian", True, "ok")

    page = browser.new_page(viewport={"width": 1280, "height": 760})
    log_in(page, hub, teacher, teacher_password)
    page.goto(f"{hub.url}/hub/home")
    link = page.locator(f"a[href*='{PROGRESS}']").first
    assert link.count() == 1, "no link to the progress service on the teacher's home page"
    page.goto(f"{hub.url}{PROGRESS}")
    page.wait_for_selector("#grid tbody tr[data-user='student12']", timeout=30_000)
    assert page.locator("body").get_attribute("data-role") == "teacher"
    # the students (this test's and those of other tests on the same hub), not the teacher
    shown = set(page.locator("#grid tbody tr").evaluate_all("rows => rows.map(r => r.dataset.user)"))
    assert {*names, student} <= shown and teacher not in shown, shown
    rows = len(shown)
    sentences = page.locator("#sentences").inner_text()
    stuck = [m for _, _, passed, m in verdicts if not passed]
    top = max(set(stuck), key=stuck.count)
    assert (f"{len(stuck)} of {rows} stuck on cpu/3_Python_Implementation check_laplacian: "
            f"{stuck.count(top)} on '{top}'") in sentences, sentences
    assert XSS in sentences  # shown as the text the student sent
    assert page.evaluate("window.__pwned") is None  # and never run
    page.locator("#grid tbody tr[data-user='student01'] td.name").click()
    page.wait_for_function("document.getElementById('history').textContent.includes('student01')")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.close()

    mine = browser.new_page()
    log_in(mine, hub, student, student_password)
    mine.goto(f"{hub.url}{PROGRESS}")
    mine.wait_for_selector(f"#grid tbody tr[data-user='{student}']", timeout=30_000)
    assert mine.locator("body").get_attribute("data-role") == "student"
    assert mine.locator("#grid tbody tr").count() == 1
    assert mine.request.get(f"{hub.url}{PROGRESS}api/class").status == 403
    assert mine.request.get(f"{hub.url}{PROGRESS}api/history/student01").status == 403
    mine.close()
