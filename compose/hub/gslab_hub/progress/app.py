"""The progress service's web app: tornado handlers behind the hub's OAuth (JupyterHub's own
service helpers), on the store.

Who is who comes from the hub only: a lab's post is authenticated by its token (the hub says
whose it is; the body's fields never name a user), a browser by the hub's OAuth cookie. Who
is a teacher is asked of the hub with the service's own token (the ``teacher`` role, the
``teachers`` group, or an admin), cached a few seconds.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from typing import Any

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import httpclient, web

from .page import PAGE
from .store import MAX_MESSAGE, Store, stuck_sentence, summary

#: seconds a user's teacher-or-not and the class list are reused before the hub is asked again
CACHE_SECONDS = 10.0
#: the largest post a lab may send (a verdict is a few hundred bytes)
MAX_BODY = 8192
TEACHER_ROLE, TEACHER_GROUP = "teacher", "teachers"


class Hub:
    """The hub's REST API with the service's own token (JUPYTERHUB_API_TOKEN/_URL)."""

    def __init__(self) -> None:
        self.url = os.environ["JUPYTERHUB_API_URL"].rstrip("/")
        self.token = os.environ["JUPYTERHUB_API_TOKEN"]
        self._cache: dict[str, tuple[float, Any]] = {}

    async def _get(self, path: str) -> Any:
        now = time.monotonic()
        if path in self._cache and now - self._cache[path][0] < CACHE_SECONDS:
            return self._cache[path][1]
        response = await httpclient.AsyncHTTPClient().fetch(
            self.url + path, headers={"Authorization": f"token {self.token}"}, request_timeout=10)
        value = json.loads(response.body)
        self._cache[path] = (now, value)
        return value

    @staticmethod
    def teaches(model: dict[str, Any]) -> bool:
        return bool(model.get("admin") or TEACHER_ROLE in model.get("roles", [])
                    or TEACHER_GROUP in model.get("groups", []))

    async def is_teacher(self, name: str) -> bool:
        return self.teaches(await self._get(f"/users/{name}"))

    async def students(self) -> list[str]:
        return sorted(u["name"] for u in await self._get("/users") if not self.teaches(u))


class Base(HubOAuthenticated, web.RequestHandler):
    """A request from a user the hub vouches for (token or OAuth cookie)."""

    @property
    def store(self) -> Store:
        return self.settings["store"]

    @property
    def hub(self) -> Hub:
        return self.settings["hub"]

    def user_name(self) -> str:
        user = self.current_user
        if not user or user.get("kind", "user") != "user":
            raise web.HTTPError(403, "log in through the hub, as a user")
        return str(user["name"])

    async def teacher(self) -> str:
        name = self.user_name()
        if not await self.hub.is_teacher(name):
            raise web.HTTPError(403, "the class is for its teachers; your own row is at api/me")
        return name

    def write_json(self, value: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(value))


class Results(Base):
    """POST api/results: one check's verdict, from a lab (its own token)."""

    def post(self) -> None:
        name = self.user_name()
        if len(self.request.body) > MAX_BODY:
            raise web.HTTPError(413, f"a verdict is at most {MAX_BODY} bytes")
        try:
            body = json.loads(self.request.body)
            check, passed = str(body["check"]), bool(body["passed"])
            notebook, message = str(body.get("notebook", "")), str(body.get("message", ""))
        except (ValueError, KeyError, TypeError) as exc:
            raise web.HTTPError(400, f"expected JSON with check, passed, message: {exc}") from exc
        result = self.store.add(name, notebook, check, passed, message[:MAX_MESSAGE])
        self.set_status(201)
        self.write_json(result.as_dict())


class Me(Base):
    """GET api/me: the caller's own row and history (any user)."""

    @web.authenticated
    def get(self) -> None:
        name = self.user_name()
        history = self.store.history(name)
        latest = {r.exercise: r.as_dict() for r in history}
        self.write_json({"user": name, "latest": latest, "history": [r.as_dict() for r in history]})


class Class(Base):
    """GET api/class: the grid and its per-exercise summary (teachers)."""

    @web.authenticated
    async def get(self) -> None:
        await self.teacher()
        grid = summary(self.store.latest(), await self.hub.students(), self.store.tries())
        size = len(grid["students"])
        grid["sentences"] = [stuck_sentence(e, grid["stats"][e], size) for e in grid["exercises"]]
        self.write_json(grid)


class History(Base):
    """GET api/history/<user>: every verdict of one student (teachers, or the student)."""

    @web.authenticated
    async def get(self, user: str) -> None:
        if user != self.user_name():
            await self.teacher()
        self.write_json([r.as_dict() for r in self.store.history(user)])


class Export(Base):
    """GET api/export.csv | api/export.json: every verdict of the class (teachers)."""

    @web.authenticated
    async def get(self, kind: str) -> None:
        await self.teacher()
        rows = [r.as_dict() for r in self.store.history()]
        if kind == "json":
            self.write_json(rows)
            return
        out = io.StringIO()
        writer = csv.DictWriter(out, ["user", "notebook", "check", "exercise", "passed",
                                      "message", "at"])
        writer.writeheader()
        writer.writerows(rows)
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="class-progress.csv"')
        self.finish(out.getvalue())


class Page(Base):
    """GET /: the grid (teachers) or the student's own row, updating every second."""

    @web.authenticated
    async def get(self) -> None:
        name = self.user_name()
        role = "teacher" if await self.hub.is_teacher(name) else "student"
        self.set_header("Cache-Control", "no-store")
        # the page's own fetches send the hub's XSRF token: cookie-authenticated fetches
        # without it are refused by JupyterHub's service auth (redirected, not served)
        xsrf = self.xsrf_token.decode() if isinstance(self.xsrf_token, bytes) else str(self.xsrf_token)
        self.finish(PAGE.replace("{{ROLE}}", role).replace("{{USER}}", json.dumps(name))
                    .replace("{{XSRF}}", json.dumps(xsrf)))


def make_app(store: Store, hub: Hub, prefix: str) -> web.Application:
    def route(path: str) -> str:
        return url_path_join(prefix, path)
    return web.Application([
        (route("oauth_callback"), HubOAuthCallbackHandler),
        (route("api/results"), Results),
        (route("api/me"), Me),
        (route("api/class"), Class),
        (route(r"api/history/([^/]+)"), History),
        (route(r"api/export\.(csv|json)"), Export),
        (prefix, Page),
    ], store=store, hub=hub, cookie_secret=os.urandom(32))
