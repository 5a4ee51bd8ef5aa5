"""The HTML of the progress page: the class grid for a teacher, her own row for a student.

Everything a student sent (a check's message, a notebook's name) reaches the page as JSON and
is put in with ``textContent`` only, never as HTML: a message is a student's text, and this
page is open in a teacher's browser (a script in it would act with her rights).
"""

PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gray-Scott Lab: the class</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } #sentences li { margin: .2em 0; }
table { border-collapse: collapse; margin-top: 1em; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: center; }
th.ex { writing-mode: vertical-rl; transform: rotate(180deg); font-weight: normal; max-height: 14em; }
td.pass { background: #bfe8bf; } td.none { background: #f2f2f2; }
td.fail { background: #f6c3c3; cursor: help; }
td.name { text-align: left; cursor: pointer; text-decoration: underline dotted; }
#history { margin-top: 1em; white-space: pre-wrap; font-family: monospace; }
.muted { color: #777; }
</style></head>
<body data-role="{{ROLE}}">
<h1>Gray-Scott Lab: <span id="title">the class</span></h1>
<p class="muted">Live from the check cells (updated every second). A check runs in the student's
own kernel, so this page helps a class; it is not a grade book.
<span id="exports"> Export: <a href="api/export.csv">CSV</a> · <a href="api/export.json">JSON</a></span></p>
<ul id="sentences"></ul>
<table id="grid"><thead></thead><tbody></tbody><tfoot></tfoot></table>
<div id="history"></div>
<script>
"use strict";
const role = document.body.dataset.role, me = {{USER}};
const headers = {"X-XSRFToken": {{XSRF}}};
function get(url) { return fetch(url, {cache: "no-store", headers}); }
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function cell(v) {
  if (!v) return el("td", "·", "none");
  const td = el("td", v.passed ? "✓" : "✗", v.passed ? "pass" : "fail");
  td.title = (v.passed ? "passed" : v.message) + " (" + v.tries + " tries)";
  return td;
}
async function showHistory(user) {
  const r = await get("api/history/" + encodeURIComponent(user));
  if (!r.ok) return;
  const rows = await r.json();
  const box = document.getElementById("history");
  box.textContent = "History of " + user + ":\n" + rows.map(x =>
    new Date(x.at * 1000).toLocaleTimeString() + "  " + x.exercise + "  " +
    (x.passed ? "passed" : "NOT YET - " + x.message)).join("\n");
}
function render(grid) {
  const sentences = document.getElementById("sentences");
  sentences.replaceChildren(...grid.sentences.map(s => el("li", s)));
  const head = el("tr"); head.append(el("th", "student"));
  for (const ex of grid.exercises) head.append(el("th", ex, "ex"));
  document.querySelector("#grid thead").replaceChildren(head);
  const body = grid.students.map(name => {
    const tr = el("tr"); tr.dataset.user = name;
    const who = el("td", name, "name"); who.onclick = () => showHistory(name);
    tr.append(who);
    for (const ex of grid.exercises) tr.append(cell(grid.cells[name][ex]));
    return tr;
  });
  document.querySelector("#grid tbody").replaceChildren(...body);
  const foot = el("tr"); foot.append(el("th", "passed / stuck"));
  for (const ex of grid.exercises) {
    const s = (grid.stats || {})[ex];
    foot.append(el("th", s ? s.passed + " / " + s.stuck : ""));
  }
  document.querySelector("#grid tfoot").replaceChildren(foot);
}
async function refresh() {
  try {
    if (role === "teacher") {
      const r = await get("api/class");
      if (r.ok) render(await r.json());
    } else {
      document.getElementById("title").textContent = "your checks, " + me;
      document.getElementById("exports").hidden = true;
      const r = await get("api/me");
      if (!r.ok) return;
      const mine = await r.json(), exercises = Object.keys(mine.latest);
      const cells = {}; cells[me] = {};
      for (const ex of exercises) {
        const tries = mine.history.filter(h => h.exercise === ex).length;
        cells[me][ex] = {...mine.latest[ex], tries};
      }
      render({students: [me], exercises, cells, sentences: []});
    }
  } finally { setTimeout(refresh, 1000); }
}
refresh();
</script></body></html>
"""
