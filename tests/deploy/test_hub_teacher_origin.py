"""A student's page never runs with a teacher's rights (issue #22, beyond the list).

The hub and every lab share one origin (no per-user subdomains at a satellite site: no
wildcard DNS, often no DNS at all). A student controls everything her server sends, e.g. a
page she serves through jupyter-server-proxy at /user/<her>/proxy/<port>/. Were a teacher (a
hub admin) to open it, its script would run on the hub's origin with the teacher's cookies:
read an XSRF token from /hub/home, then PATCH /hub/api/users/<her> {"admin": true}. The hub
stops it by never serving a student's server to a teacher's browser session: the teachers'
admin role has no ``access:servers`` (nor ``shares``/``tokens``, which lead to it), so the
request is refused before any of her content reaches the teacher. Teachers keep what they
need: the admin page, starting and stopping servers, approving accounts.

A real browser (Debian's chromium through playwright) plays the teacher. Run by
``make test-hub-hostile``."""

from __future__ import annotations

from playwright.sync_api import Browser

from grayscott.classroom.client import server_ready
from tests.deploy.conftest import Hub
from tests.utils import run, wait_for

STUDENT = "eve"
#: The student's page: on the hub's origin it would make her an admin with the visitor's rights
ATTACK = """<!doctype html><title>loading</title><script>
(async () => {
  let status = "start";
  try {
    const home = await (await fetch("/hub/home", {credentials: "same-origin"})).text();
    const xsrf = (home.match(/xsrf_token:\\s*"([^"]*)"/) || [])[1] || "";
    const r = await fetch("/hub/api/users/STUDENT", {
      method: "PATCH", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-XSRFToken": xsrf},
      body: JSON.stringify({admin: true})});
    status = "patched " + r.status;
  } catch (e) { status = "error " + e; }
  document.title = status;
})();
</script>""".replace("STUDENT", STUDENT)


def serve_attack_page(hub: Hub) -> str:
    """Eve's lab serves the page on port 9000 of her container; its URL through the hub."""
    assert hub.api("POST", f"/users/{STUDENT}").status_code == 201
    assert hub.api("POST", f"/users/{STUDENT}/server").status_code in (201, 202)
    wait_for(lambda: server_ready(hub, STUDENT), 180, f"{STUDENT}'s server\n{hub.logs()[-3000:]}")
    lab = f"{hub.name}-{STUDENT}"
    run("docker", "exec", "-i", "--user", "1000", lab, "sh", "-c",
        "mkdir -p /tmp/site && cat > /tmp/site/index.html", input_text=ATTACK)
    run("docker", "exec", "--detach", "--user", "1000", lab, "python3", "-m", "http.server",
        "9000", "--bind", "127.0.0.1", "--directory", "/tmp/site")
    url = f"{hub.url}/user/{STUDENT}/proxy/9000/index.html"
    # the page is really there for whoever may open her server (her own token here)
    token = hub.api("POST", f"/users/{STUDENT}/tokens", json={"expires_in": 600}).json()["token"]
    wait_for(lambda: "fetch(" in run("curl", "-sk", "-H", "@-", url, check=False,
                                     input_text=f"Authorization: token {token}\n").stdout,
             30, "eve's page behind her server")
    return url


def test_a_students_page_opened_by_a_teacher_cannot_act_as_the_teacher(
        hub: Hub, browser: Browser) -> None:
    url = serve_attack_page(hub)
    password = hub.script("admin", "teacher-origin").stdout.split("password ")[1].split()[0]
    page = browser.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", "teacher-origin")
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_load_state("networkidle")

    page.goto(url)
    page.wait_for_load_state("networkidle")
    agree = page.locator("form [type=submit]")
    if "/hub/api/oauth2/authorize" in page.url and agree.count():  # "Authorize access"
        agree.first.click()  # the teacher agrees, as a teacher wanting to help would
        page.wait_for_load_state("networkidle")
    page.wait_for_timeout(5000)  # the script's two requests, if it runs at all
    title = page.title()
    assert hub.api("GET", f"/users/{STUDENT}").json()["admin"] is False, (
        f"the student's page made her an admin with the teacher's session ({title!r})")
    # her page never reached his browser: no script of hers ran there at all
    assert "fetch(" not in page.content() and title not in ("loading", "start"), title
    assert not title.startswith(("patched", "error")), title

    # the teacher keeps the class: the admin page and a student's server stop
    page.goto(f"{hub.url}/hub/admin")
    page.wait_for_load_state("networkidle")
    assert "/hub/admin" in page.url
    stopped = page.evaluate("""async (user) => {
        const home = await (await fetch("/hub/home")).text();
        const xsrf = (home.match(/xsrf_token:\\s*"([^"]*)"/) || [])[1] || "";
        const r = await fetch(`/hub/api/users/${user}/server`,
                              {method: "DELETE", headers: {"X-XSRFToken": xsrf}});
        return r.status;
    }""", STUDENT)
    assert stopped in (202, 204), stopped
    page.close()
