"""A real browser on the one-machine hub: a teacher logs in through the login form and lands
in JupyterLab in their own container. Debian's chromium, driven by playwright (no browser is
downloaded). The screenshot goes to build/hub-jupyterlab.png."""

from __future__ import annotations

from playwright.sync_api import Browser

from tests.deploy.conftest import BUILD, Hub


def test_teacher_logs_in_and_lands_in_jupyterlab(hub: Hub, browser: Browser) -> None:
    output = hub.script("admin", "teacher-browser").stdout
    password = output.split("password ")[1].split()[0]
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", "teacher-browser")
    page.fill("#password_input", password)
    page.click("#login_submit")
    # No GPU here: nothing to choose, so the server starts at once and the hub redirects
    page.wait_for_url("**/user/teacher-browser/lab**", timeout=180_000)
    page.wait_for_selector(".jp-Launcher", timeout=180_000)
    page.wait_for_selector(".jp-DirListing-item[title*='labs']", timeout=60_000)
    assert "JupyterLab" in page.title()
    BUILD.mkdir(exist_ok=True)
    page.screenshot(path=str(BUILD / "hub-jupyterlab.png"))
    page.close()
