// Gray-Scott Lab in VS Code, offline: the lab's commands and welcome (here), Python language
// features (python-language.js) and notebooks that run (notebook-controller.js). The settings
// that keep the window the lab's (AI chat hidden, telemetry off, trust not asked) are the
// image's images/code-server/settings.json, in place before the window first opens.
"use strict";
const fs = require("fs");
const path = require("path");
const vscode = require("vscode");
const { startPythonLanguageServer } = require("./python-language");
const { createNotebookController } = require("./notebook-controller");

function runInTerminal(name, command) {
  const terminal = vscode.window.createTerminal(name);
  terminal.show();
  terminal.sendText(command);
}

function quote(word) { return `'${word.replace(/'/g, "'\\''")}'`; }

async function renderHdf5(uri, grayscott) {
  const file = uri?.fsPath ?? (await vscode.window.showOpenDialog({
    canSelectMany: false, filters: { "Gray-Scott run (HDF5)": ["h5"] },
    title: "Render a run file (PNG + GIF next to it)" }))?.[0]?.fsPath;
  if (file) runInTerminal("grayscott render", `${grayscott} render ${quote(file)}`);
}

// What a student sees first: the lab's README in the workspace (the jupyter image copies the
// labs to /work/labs), else the first tutorial notebook, else the labs' README in the image.
function welcomeTarget() {
  const roots = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const labs = process.env.GRAYSCOTT_LABS || "/opt/labs";
  const candidates = roots.flatMap((root) => [
    path.join(root, "labs", "README.md"), path.join(root, "README.md"),
    path.join(root, "labs", "cpu", "tutorial", "1_Optimization.ipynb")])
    .concat([path.join(labs, "README.md")]);
  return candidates.find((file) => fs.existsSync(file));
}

async function openWelcome() {
  const target = welcomeTarget();
  if (!target) return;
  const uri = vscode.Uri.file(target);
  if (target.endsWith(".md")) await vscode.commands.executeCommand("markdown.showPreview", uri);
  else await vscode.commands.executeCommand("vscode.openWith", uri, "jupyter-notebook");
}

// The image's interpreter by path: VS Code gives extensions and terminals the PATH of a login
// shell, where python3 is the system's (no grayscott, no ipykernel), not the virtualenv's.
function labPython() {
  const configured = vscode.workspace.getConfiguration("grayscott").get("python");
  if (configured) return configured;
  return process.env.VIRTUAL_ENV ? path.join(process.env.VIRTUAL_ENV, "bin", "python") : "python3";
}

function activate(context) {
  const interpreter = labPython();
  const grayscott = `${quote(interpreter)} -m grayscott`;
  context.subscriptions.push(
    vscode.commands.registerCommand("grayscott.smoke", () =>
      runInTerminal("grayscott smoke", `${grayscott} smoke`)),
    vscode.commands.registerCommand("grayscott.bench", () =>
      runInTerminal("grayscott bench", `${grayscott} bench --rows 540 --cols 960`)),
    vscode.commands.registerCommand("grayscott.render", (uri) => renderHdf5(uri, grayscott)),
    vscode.commands.registerCommand("grayscott.welcome", openWelcome));
  startPythonLanguageServer(context, interpreter);
  createNotebookController(context, interpreter);
  if (!context.globalState.get("grayscott.welcomed")) {
    context.globalState.update("grayscott.welcomed", true);
    openWelcome();
  }
}

function deactivate() {}

module.exports = { activate, deactivate };
