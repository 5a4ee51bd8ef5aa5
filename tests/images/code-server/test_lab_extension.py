"""The lab extension in code-server, offline: Python language features, notebooks that run.

Each test drives what the editor drives, inside the image, without a browser: the language
server's command line from the extension's package.json (lsp_probe.py), and the notebook
controller's kernel path (kernel-bridge.js, through the extension's run-notebook.js). The
browser half (a cell run in the editor) is tests/deploy/test_browser_code_server.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grayscott.launcher.runtime import Mount
from tests.images.conftest import Container

ROOT = Path(__file__).resolve().parents[3]
EXTENSION = "/opt/code-server/extensions/grayscott.gray-scott-lab-*"
ARBITRARY = "12345:100"
NOTEBOOK = "cpu/solutions/2_Numpy.ipynb"  # check cells, a chart, text, timings


def in_extension(container: Container, script: str, *args: str, **options: Any) -> str:
    """Run ``script`` (bash) in the installed extension's folder, as an arbitrary UID on a
    read-only root; its stdout."""
    return container.run("bash", "-c", f"cd {EXTENSION}/ && {script}", "bash", *args,
                         exec_=True, user=ARBITRARY, read_only=True, timeout=240,
                         **options).stdout


def test_python_language_server_completes_grayscott_and_flags_a_bad_import(
        container: Container) -> None:
    probe = (Path(__file__).parent / "lsp_probe.py").read_text()
    answer = json.loads(in_extension(container, 'python3 -c "$1" . python3', probe))
    assert {"initial_state", "laplacian", "Params"} <= set(answer["completions"]), answer
    assert any("nosuchmodule_h29" in m for m in answer["diagnostics"]), answer
    assert not any('"grayscott.model"' in m for m in answer["diagnostics"]), answer
    assert "module" in answer["hover"], answer  # hover over `grayscott.model` says what it is


NBCLIENT = """
import json, sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, allow_errors=True, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[2]}}).execute()
print(json.dumps([{"outputs": c.outputs} for c in nb.cells if c.cell_type == "code"]))
"""


def shape(cells: list[dict[str, Any]], sources: list[str]) -> list[list[tuple[Any, ...]]]:
    """What must match between two runs of a notebook: each output's kind, stream, MIME types
    and error name, and the whole text of the check cells (timings and plots' bytes vary).
    Consecutive writes to one stream are one output, as Jupyter shows them: how a stream is
    cut into messages depends on when the kernel flushed."""
    result = []
    for cell, source in zip(cells, sources, strict=True):
        outputs: list[tuple[Any, ...]] = []
        for o in cell["outputs"]:
            text = o.get("text", "") if "checks." in source else ""
            key = (o["output_type"], o.get("name"), sorted(o.get("data", {})), o.get("ename"))
            if outputs and o["output_type"] == "stream" and outputs[-1][:4] == key:
                outputs[-1] = (*key, outputs[-1][4] + text)
            else:
                outputs.append((*key, text))
        result.append(outputs)
    return result


def test_a_lab_notebook_runs_through_the_controller_path_as_with_nbclient(
        container: Container, workdir: Path) -> None:
    labs = Mount(ROOT / "labs", "/labs", read_only=True)
    env = {"GRAYSCOTT_LAB_SIZE": "tiny", "HOME": "/tmp"}
    notebook = f"/labs/{NOTEBOOK}"
    ours = json.loads(in_extension(container, 'node run-notebook.js python3 "$1"', notebook,
                                   mounts=(labs,), env=env))
    theirs = json.loads(container.run("python3", "-c", NBCLIENT, notebook, "/labs/cpu/solutions",
                                      exec_=True, user=ARBITRARY, read_only=True, timeout=240,
                                      mounts=(labs,), env=env).stdout)
    sources = ["".join(c["source"]) for c in
               json.loads((ROOT / "labs" / NOTEBOOK).read_text())["cells"]
               if c["cell_type"] == "code"]
    assert all(cell["status"] == "ok" for cell in ours), ours
    assert shape(ours, sources) == shape(theirs, sources)
    kinds = {o["output_type"] for cell in ours for o in cell["outputs"]}
    mimes = {m for cell in ours for o in cell["outputs"] for m in o.get("data", {})}
    assert "stream" in kinds and "image/png" in mimes, (kinds, mimes)
    verdicts = [o.get("text", "") for cell, source in zip(ours, sources, strict=True)
                if "checks." in source for o in cell["outputs"]]
    assert verdicts and all("correct" in v for v in verdicts), verdicts  # the check cells pass


KERNEL_SESSION = """
const { KernelBridge } = require("./kernel-bridge");
const log = [];
async function cell(bridge, code) {
  const outputs = [];
  const done = await bridge.execute(code, (o) => outputs.push(o));
  log.push({ status: done.status, outputs });
}
(async () => {
  let restarted;
  const wasRestarted = new Promise((resolve) => { restarted = resolve; });
  const bridge = new KernelBridge("python3", "/tmp", () => restarted());
  await cell(bridge, "x = 41\\nprint(x + 1)");
  await cell(bridge, "1 / 0");
  const sleeping = cell(bridge, "import time\\ntime.sleep(60)");
  setTimeout(() => bridge.interrupt(), 3000);
  await sleeping;
  bridge.restart();
  await wasRestarted;
  await cell(bridge, "print('x' in globals())");
  bridge.dispose();
  console.log(JSON.stringify(log));
})();
"""


def test_kernel_outputs_errors_interrupt_and_restart(container: Container) -> None:
    log = json.loads(in_extension(container, 'node -e "$1"', KERNEL_SESSION,
                                  env={"HOME": "/tmp"}))
    printed, divided, interrupted, after_restart = log
    assert printed["status"] == "ok" and printed["outputs"][0]["text"] == "42\n"
    assert divided["status"] == "error" and divided["outputs"][0]["ename"] == "ZeroDivisionError"
    assert interrupted["status"] == "error"
    assert interrupted["outputs"][-1]["ename"] == "KeyboardInterrupt"
    assert after_restart["outputs"][0]["text"] == "False\n"  # a new kernel: x is gone


def test_the_lab_in_front(container: Container) -> None:
    """Before the first window opens, code-server's user settings keep it the lab's: AI chat
    off and its side bar hidden, telemetry off, no trust prompt; the lab's commands are in
    the palette (the browser test sees the layout itself)."""
    settings = json.loads(container.sh(
        "start-code-server --version >/dev/null && cat /tmp/code-server/user/User/settings.json",
        user=ARBITRARY, read_only=True, env={"PASSWORD": "x"}))
    assert settings["chat.disableAIFeatures"] is True
    assert settings["workbench.secondarySideBar.defaultVisibility"] == "hidden"
    assert settings["telemetry.telemetryLevel"] == "off"
    assert settings["security.workspace.trust.enabled"] is False
    manifest = json.loads(in_extension(container, "cat package.json"))
    commands = {c["command"] for c in manifest["contributes"]["commands"]}
    assert {"grayscott.smoke", "grayscott.bench", "grayscott.render"} <= commands
