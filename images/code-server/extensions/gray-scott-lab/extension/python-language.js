// Python language features offline: pyright's language server (npm, locked in
// package-lock.json, installed in the image) over stdio, analysing with the image's
// interpreter, so `grayscott` and the backends' libraries resolve. The command line is
// package.json's grayscott.languageServer: the image test starts the same one.
"use strict";
const path = require("path");
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

function pythonSettings(interpreter) {
  // what pyright asks for in workspace/configuration (sections "python", "python.analysis")
  return {
    pythonPath: interpreter,
    analysis: { typeCheckingMode: "basic", diagnosticMode: "openFilesOnly",
                autoSearchPaths: true, useLibraryCodeForTypes: true },
  };
}

function startPythonLanguageServer(context, interpreter) {
  const [module, ...args] = require("./package.json").grayscott.languageServer;
  const run = { module: path.join(__dirname, module), args: args.filter((a) => a !== "--stdio"),
                transport: TransportKind.stdio };
  const settings = pythonSettings(interpreter);
  const client = new LanguageClient("grayscott.pyright", "Python (pyright)", { run, debug: run }, {
    documentSelector: [{ language: "python" }],
    middleware: {
      workspace: {
        configuration: (params) => params.items.map((item) =>
          item.section === "python" ? settings
            : item.section === "python.analysis" ? settings.analysis : null),
      },
    },
  });
  client.start();
  context.subscriptions.push(client);
  return client;
}

module.exports = { startPythonLanguageServer, pythonSettings };
