// Gray-Scott Lab commands: each opens a terminal and runs the grayscott CLI.
const vscode = require("vscode");

function runInTerminal(name, command) {
  const terminal = vscode.window.createTerminal(name);
  terminal.show();
  terminal.sendText(command);
}

function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("grayscott.smoke", () =>
      runInTerminal("grayscott smoke", "grayscott smoke")),
    vscode.commands.registerCommand("grayscott.bench", () =>
      runInTerminal("grayscott bench", "grayscott bench --rows 540 --cols 960")));
}

function deactivate() {}

module.exports = { activate, deactivate };
