// node run-notebook.js PYTHON NOTEBOOK.ipynb: run every code cell through KernelBridge (the
// notebook controller's path, without the editor) and print the cells' outputs as JSON.
// The image tests compare them with nbclient's.
"use strict";
const fs = require("fs");
const path = require("path");
const { KernelBridge } = require("./kernel-bridge");

async function main() {
  const [python, notebookPath] = process.argv.slice(2);
  const notebook = JSON.parse(fs.readFileSync(notebookPath, "utf8"));
  const bridge = new KernelBridge(python, path.dirname(path.resolve(notebookPath)));
  const cells = [];
  for (const cell of notebook.cells.filter((c) => c.cell_type === "code")) {
    let outputs = [];
    const source = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
    const done = await bridge.execute(source, (o) => outputs.push(o), () => { outputs = []; });
    cells.push({ status: done.status, outputs });
  }
  bridge.dispose();
  process.stdout.write(JSON.stringify(cells) + "\n");
}

main().catch((err) => { console.error(`run-notebook: ${err.message}`); process.exit(1); });
