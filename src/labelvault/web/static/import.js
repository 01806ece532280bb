// The import page: the file goes up as the raw body of the import API through XHR (whose upload events drive
// the upload bar), then the job is polled for its progress; its rejected lines are listed page by page
// (keyset cursor) and the whole report is a download.
import { api } from "./frame.js";
import { el } from "./widgets.js";

const config = JSON.parse(document.getElementById("lv-config").textContent);
const token = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const $ = (id) => document.getElementById(id);
const state = { job: null, cursor: null };
const setStatus = (text) => { $("status").textContent = text; };
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function bar(id, textId, done, total, text) {
  const percent = total > 0 ? Math.min(100, Math.round((100 * done) / total)) : 0;
  $(id).value = percent;
  $(textId).textContent = text ?? `${percent}%`;
}

function upload(file) {
  const params = new URLSearchParams({ filename: file.name, on_conflict: $("on-conflict").value });
  if ($("format").value) params.set("format", $("format").value);
  if ($("all-or-nothing").checked) params.set("all_or_nothing", "true");
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/projects/${config.projectId}/imports?${params}`);
    xhr.setRequestHeader("x-csrf-token", token);
    xhr.setRequestHeader("accept", "application/json");
    xhr.setRequestHeader("content-type", "application/octet-stream");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) bar("upload-progress", "upload-text", event.loaded, event.total);
    });
    xhr.addEventListener("load", () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { data = null; }
      resolve({ ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status, data });
    });
    xhr.addEventListener("error", () => resolve({ ok: false, status: 0, data: null }));
    xhr.send(file);
  });
}

function summary(stats) {
  const shown = ["lines", "imported", "updated", "skipped", "rejected"].filter((key) => key in stats);
  $("summary").replaceChildren(...shown.map((key) => el("div", {}, el("dt", { text: key }),
    el("dd", { "data-stat": key, text: String(stats[key]) }))));
  $("summary").classList.toggle("hidden", !shown.length);
}

async function watch(job) {
  for (;;) {
    bar("job-progress", "job-text", job.done, job.total);
    summary(job.stats ?? {});
    if (job.state === "succeeded" || job.state === "failed" || job.state === "cancelled") return job;
    setStatus(`Importing (${job.state})…`);
    await sleep(400);
    const result = await api("GET", `/api/v1/jobs/${job.id}`);
    if (!result.ok) { setStatus(result.data?.message ?? `Could not read the job (${result.status}).`); return null; }
    job = result.data;
  }
}

function problemRow(problem) {
  return el("tr", {}, el("td", { text: String(problem.line) }), el("td", { text: problem.field || "(line)" }),
            el("td", { text: problem.reason }));
}

async function loadProblems(more = false) {
  const params = new URLSearchParams({ limit: "100" });
  if (more && state.cursor) params.set("cursor", state.cursor);
  const result = await api("GET", `/api/v1/jobs/${state.job}/problems?${params}`);
  if (!result.ok) { setStatus(result.data?.message ?? "Could not read the rejected lines."); return; }
  const rows = result.data.items.map(problemRow);
  if (more) $("problems").append(...rows); else $("problems").replaceChildren(...rows);
  state.cursor = result.data.next_cursor;
  $("more-problems").classList.toggle("hidden", !state.cursor);
  $("problems-section").classList.toggle("hidden", !$("problems").childElementCount);
  document.body.dataset.problems = String($("problems").childElementCount);
}

$("import-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) { setStatus("Choose a file first."); return; }
  $("start").disabled = true;
  $("problems-section").classList.add("hidden");
  delete document.body.dataset.importState;
  bar("upload-progress", "upload-text", 0, 1);
  bar("job-progress", "job-text", 0, 1, "waiting for the upload");
  setStatus(`Uploading ${file.name}…`);
  try {
    const sent = await upload(file);
    if (!sent.ok) { setStatus(sent.data?.message ?? `The upload failed (${sent.status}).`); return; }
    bar("upload-progress", "upload-text", 1, 1, "done");
    state.job = sent.data.id;
    $("problems-download").setAttribute("href", `/api/v1/jobs/${state.job}/problems.jsonl`);
    const job = await watch(sent.data);
    if (!job) return;
    const stats = job.stats ?? {};
    if (job.state === "succeeded") {
      setStatus(`Imported: ${stats.imported ?? 0} new, ${stats.updated ?? 0} updated, ${stats.skipped ?? 0} skipped, ${stats.rejected ?? 0} rejected.`);
    } else {
      setStatus(`The import ${job.state}${job.error ? `: ${job.error}` : "."}`);
    }
    await loadProblems();
    document.body.dataset.importState = job.state;
  } finally {
    $("start").disabled = false;
  }
});
$("more-problems").addEventListener("click", () => loadProblems(true));
