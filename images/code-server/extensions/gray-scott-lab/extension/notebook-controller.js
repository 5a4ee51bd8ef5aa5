// Notebooks that run: a controller for .ipynb files whose cells execute on an ipykernel of
// the image's Python, one kernel per notebook (KernelBridge). Interrupt is the editor's stop
// button; restart is the command grayscott.restartKernel.
"use strict";
const path = require("path");
const vscode = require("vscode");
const { KernelBridge } = require("./kernel-bridge");

function toCellOutput(output) {
  const { NotebookCellOutput, NotebookCellOutputItem } = vscode;
  if (output.output_type === "stream") {
    const item = output.name === "stderr" ? NotebookCellOutputItem.stderr(output.text)
      : NotebookCellOutputItem.stdout(output.text);
    return new NotebookCellOutput([item]);
  }
  if (output.output_type === "error") {
    return new NotebookCellOutput([NotebookCellOutputItem.error({
      name: output.ename, message: output.evalue, stack: output.traceback.join("\n") })]);
  }
  const items = Object.entries(output.data).map(([mime, value]) => {
    if (mime.startsWith("image/") && mime !== "image/svg+xml") {
      return new NotebookCellOutputItem(Buffer.from(value, "base64"), mime);
    }
    if (mime.endsWith("json")) return NotebookCellOutputItem.json(value, mime);
    return NotebookCellOutputItem.text(Array.isArray(value) ? value.join("") : value, mime);
  });
  return new NotebookCellOutput(items, output.metadata);
}

function createNotebookController(context, interpreter) {
  const controller = vscode.notebooks.createNotebookController(
    "grayscott.ipykernel", "jupyter-notebook", `Python (${interpreter}, ipykernel)`);
  controller.supportedLanguages = ["python"];
  controller.supportsExecutionOrder = true;
  controller.description = "the lab image's Python";
  const kernels = new Map();  // notebook uri -> KernelBridge

  function kernelFor(notebook) {
    const key = notebook.uri.toString();
    if (!kernels.has(key)) {
      const cwd = notebook.uri.scheme === "file" ? path.dirname(notebook.uri.fsPath) : undefined;
      kernels.set(key, new KernelBridge(interpreter, cwd, () =>
        vscode.window.setStatusBarMessage("Gray-Scott: kernel restarted", 4000)));
    }
    return kernels.get(key);
  }

  async function runCell(cell, kernel) {
    const execution = controller.createNotebookCellExecution(cell);
    execution.start(Date.now());
    await execution.clearOutput();
    execution.token.onCancellationRequested(() => kernel.interrupt());
    let clearPending = false;
    const done = await kernel.execute(cell.document.getText(), (output) => {
      const cellOutput = toCellOutput(output);
      if (clearPending) { clearPending = false; execution.replaceOutput(cellOutput); }
      else execution.appendOutput(cellOutput);
    }, (wait) => { if (wait) clearPending = true; else execution.clearOutput(); })
      .catch((err) => ({ status: "error", error: err }));
    if (done.error) {
      execution.appendOutput(new vscode.NotebookCellOutput([
        vscode.NotebookCellOutputItem.error(done.error)]));
    }
    if (done.executionCount) execution.executionOrder = done.executionCount;
    execution.end(done.status === "ok", Date.now());
    return done.status;
  }

  controller.executeHandler = async (cells, notebook) => {
    const kernel = kernelFor(notebook);
    for (const cell of cells) {
      if (await runCell(cell, kernel) !== "ok") break;  // as Jupyter's "run all" stops
    }
  };
  controller.interruptHandler = (notebook) => kernels.get(notebook.uri.toString())?.interrupt();

  context.subscriptions.push(
    controller,
    vscode.commands.registerCommand("grayscott.restartKernel", () => {
      const notebook = vscode.window.activeNotebookEditor?.notebook;
      const kernel = notebook && kernels.get(notebook.uri.toString());
      if (kernel) kernel.restart();
      else vscode.window.showInformationMessage("Gray-Scott: no kernel runs for this editor");
    }),
    vscode.workspace.onDidCloseNotebookDocument((notebook) => {
      kernels.get(notebook.uri.toString())?.dispose();
      kernels.delete(notebook.uri.toString());
    }),
    { dispose: () => { for (const k of kernels.values()) k.dispose(); } });
  // the lab's notebooks open on this controller without a kernel picker
  vscode.workspace.onDidOpenNotebookDocument((notebook) => {
    if (notebook.notebookType === "jupyter-notebook") {
      controller.updateNotebookAffinity(notebook, vscode.NotebookControllerAffinity.Preferred);
    }
  });
  return controller;
}

module.exports = { createNotebookController, toCellOutput };
