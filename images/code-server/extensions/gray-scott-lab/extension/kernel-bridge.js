// The Node side of kernel_bridge.py: one ipykernel of the image's Python per notebook.
// Kept free of the `vscode` module so that the image test can run a notebook through exactly
// this code (run-notebook.js) and compare the outputs with nbclient's.
"use strict";
const { spawn } = require("child_process");
const path = require("path");
const readline = require("readline");

const BRIDGE = path.join(__dirname, require("./package.json").grayscott.kernelBridge[0]);

class KernelBridge {
  // python: the interpreter the kernel runs on; cwd: the notebook's folder (relative paths)
  constructor(python, cwd, onRestarted = () => {}) {
    this.cells = new Map();  // id -> { onOutput, onClear, resolve }
    this.nextId = 1;
    this.process = spawn(python, [BRIDGE], { cwd, stdio: ["pipe", "pipe", "pipe"] });
    this.stderr = "";
    this.process.stderr.on("data", (chunk) => { this.stderr = (this.stderr + chunk).slice(-4000); });
    this.ready = new Promise((resolve, reject) => {
      this.process.on("error", (err) => reject(new Error(`cannot run ${python}: ${err.message}`)));
      this.process.on("exit", (code) => {
        const why = new Error(`the kernel bridge exited (${code}): ${this.fatal || this.stderr.trim()}`);
        reject(why);
        for (const cell of this.cells.values()) cell.resolve({ status: "aborted", error: why });
        this.cells.clear();
      });
      readline.createInterface({ input: this.process.stdout }).on("line", (line) => {
        let msg;
        try { msg = JSON.parse(line); } catch {  // not a message: kept with stderr's tail
          this.stderr = (this.stderr + line + "\n").slice(-4000);
          return;
        }
        if (msg.type === "ready") resolve();
        else if (msg.type === "fatal") this.fatal = msg.message;
        else if (msg.type === "restarted") onRestarted();
        else this.dispatch(msg);
      });
    });
  }

  dispatch(msg) {
    const cell = this.cells.get(msg.id);
    if (!cell) return;
    if (msg.type === "output") cell.onOutput(msg.output);
    else if (msg.type === "clear") cell.onClear(msg.wait);
    else if (msg.type === "done") {
      this.cells.delete(msg.id);
      cell.resolve({ status: msg.status, executionCount: msg.execution_count });
    }
  }

  send(request) { this.process.stdin.write(JSON.stringify(request) + "\n"); }

  // Resolves with { status: "ok" | "error" | "aborted", executionCount } once the cell is done.
  async execute(code, onOutput, onClear = () => {}) {
    await this.ready;
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.cells.set(id, { onOutput, onClear, resolve });
      this.send({ op: "execute", id, code });
    });
  }

  interrupt() { this.send({ op: "interrupt" }); }
  restart() { this.send({ op: "restart" }); }

  dispose() {
    if (this.process.exitCode === null) this.send({ op: "shutdown" });
    this.process.stdin.end();
  }
}

module.exports = { KernelBridge };
