"""Drive the lab extension's Python language server over stdio, inside an image.

Run as ``python3 lsp_probe.py EXTENSION_DIR PYTHON``: starts the server command line the
extension starts (its package.json's grayscott.languageServer, with node), answers the
server's configuration requests as the extension's middleware does (pythonPath = the image's
interpreter), opens a file that imports ``grayscott.model`` and a module that does not exist,
asks for completions after ``grayscott.model.`` and prints, as JSON, the completion labels and
the diagnostics' messages. Standard library only: it runs in every image.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SOURCE = "import grayscott.model\nimport nosuchmodule_h29\n\ngrayscott.model.\n"


class Server:
    def __init__(self, command: list[str], cwd: str, python: str) -> None:
        self.process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE)
        self.python, self.next_id, self.notifications = python, 1, []  # type: ignore[var-annotated]

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        length = 0
        while (line := self.process.stdout.readline().strip()):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if not length:
            raise SystemExit(f"the language server closed its output (exit {self.process.poll()})")
        return json.loads(self.process.stdout.read(length))

    def answer(self, message: dict[str, Any]) -> None:
        """The server's own requests: configuration as the extension's middleware answers it."""
        result: Any = None
        if message["method"] == "workspace/configuration":
            settings = {"pythonPath": self.python,
                        "analysis": {"typeCheckingMode": "basic", "autoSearchPaths": True,
                                     "diagnosticMode": "openFilesOnly",
                                     "useLibraryCodeForTypes": True}}
            result = [settings if item.get("section") == "python" else
                      settings["analysis"] if item.get("section") == "python.analysis" else None
                      for item in message["params"]["items"]]
        self.send({"id": message["id"], "result": result})

    def request(self, method: str, params: dict[str, Any]) -> Any:
        request_id, self.next_id = self.next_id, self.next_id + 1
        self.send({"id": request_id, "method": method, "params": params})
        while True:
            message = self.receive()
            if "method" in message and "id" in message:
                self.answer(message)
            elif "method" in message:
                self.notifications.append(message)
            elif message.get("id") == request_id:
                if "error" in message:
                    raise SystemExit(f"{method}: {message['error']}")
                return message["result"]

    def wait_notification(self, method: str, uri: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for note in self.notifications:
                if note["method"] == method and note["params"].get("uri") == uri \
                        and note["params"].get("diagnostics"):
                    return note
            message = self.receive()
            if "method" in message and "id" in message:
                self.answer(message)
            elif "method" in message:
                self.notifications.append(message)
        raise SystemExit(f"no {method} for {uri} in {timeout} s")


def main() -> None:
    extension, python = Path(sys.argv[1]).resolve(), sys.argv[2]
    module, *args = json.loads((extension / "package.json").read_text())["grayscott"][
        "languageServer"]
    workspace = Path(tempfile.mkdtemp(prefix="lsp-probe-"))
    probe = workspace / "probe.py"
    probe.write_text(SOURCE)
    server = Server(["node", str(extension / module), *args], str(extension), python)
    root = workspace.as_uri()
    server.request("initialize", {
        "processId": None, "rootUri": root,
        "workspaceFolders": [{"uri": root, "name": "work"}],
        "capabilities": {"workspace": {"configuration": True},
                         "textDocument": {"completion": {}, "hover": {},
                                          "publishDiagnostics": {}}}})
    server.send({"method": "initialized", "params": {}})
    uri = probe.as_uri()
    server.send({"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": SOURCE}}})
    completion = server.request("textDocument/completion", {
        "textDocument": {"uri": uri}, "position": {"line": 3, "character": 16}})
    items = completion["items"] if isinstance(completion, dict) else completion
    hover = server.request("textDocument/hover", {
        "textDocument": {"uri": uri}, "position": {"line": 0, "character": 18}})
    diagnostics = server.wait_notification("textDocument/publishDiagnostics", uri, 60)
    server.request("shutdown", {})
    server.send({"method": "exit"})
    print(json.dumps({
        "completions": sorted(item["label"] for item in items),
        "hover": json.dumps(hover),
        "diagnostics": [d["message"] for d in diagnostics["params"]["diagnostics"]]}))


if __name__ == "__main__":
    main()
