// The export page: the formats come from the API; the chosen filters queue an export job (or the exit bundle),
// whose progress is polled until its file can be downloaded.
import { api } from "./frame.js";
import { el } from "./widgets.js";

const config = JSON.parse(document.getElementById("lv-config").textContent);
const $ = (id) => document.getElementById(id);
const formats = new Map();
const setStatus = (text) => { $("status").textContent = text; };
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function progress(job) {
  const percent = job.total > 0 ? Math.min(100, Math.round((100 * job.done) / job.total)) : (job.state === "succeeded" ? 100 : 0);
  $("job-progress").value = percent;
  $("job-text").textContent = job.total > 0 ? `${job.done} of ${job.total} (${percent}%)` : `${percent}%`;
}

function request() {
  const form = new FormData($("export-form"));
  const body = { format: $("format").value };
  const states = form.getAll("states").map(String);
  if (states.length) body.states = states;
  const split = String(form.get("split") ?? "").trim();
  if (split) body.split = split;
  for (const name of ["since", "until"]) {
    const day = String(form.get(name) ?? "");
    if (day) body[name] = `${day}T00:00:00Z`;
  }
  for (const name of ["only_accepted", "only_annotated", "include_drafts", "predictions"]) {
    if (form.get(name)) body[name] = true;
  }
  return body;
}

async function run(path, body, what) {
  $("start").disabled = true;
  $("bundle").disabled = true;
  $("form-problem").textContent = "";
  $("download").classList.add("hidden");
  delete document.body.dataset.exportState;
  try {
    const started = await api("POST", path, body);
    if (!started.ok) {
      const field = started.data?.details?.field ?? started.data?.details?.problems?.[0]?.field;
      $("form-problem").textContent = `${started.data?.message ?? `Could not start (${started.status}).`}${field ? ` (${field})` : ""}`;
      return;
    }
    let job = started.data;
    for (;;) {
      progress(job);
      if (job.state === "succeeded" || job.state === "failed") break;
      setStatus(`${what}: ${job.state}…`);
      await sleep(400);
      const polled = await api("GET", `/api/v1/jobs/${job.id}`);
      if (!polled.ok) { setStatus(polled.data?.message ?? `Could not read the job (${polled.status}).`); return; }
      job = polled.data;
    }
    if (job.state === "succeeded") {
      const name = job.stats?.filename ?? "the file";
      setStatus(`${what} is ready: ${name}${job.stats?.items !== undefined ? `, ${job.stats.items} items` : ""}.`);
      const link = $("download");
      link.setAttribute("href", `/api/v1/exports/${job.id}/file`);
      link.textContent = `Download ${name}`;
      link.classList.remove("hidden");
    } else {
      setStatus(`${what} failed${job.error ? `: ${job.error}` : "."}`);
    }
    document.body.dataset.exportState = job.state;
  } finally {
    $("start").disabled = false;
    $("bundle").disabled = false;
  }
}

async function loadFormats() {
  const result = await api("GET", "/api/v1/export-formats");
  if (!result.ok) { setStatus(result.data?.message ?? "Could not read the formats."); return; }
  for (const format of result.data) formats.set(format.name, format);
  $("format").replaceChildren(...result.data.map((f) => el("option", { value: f.name, text: `${f.name} (.${f.extension})` })));
  if (formats.has("jsonl")) $("format").value = "jsonl";
  showHelp();
  document.body.dataset.formats = String(formats.size);
}

function showHelp() {
  const format = formats.get($("format").value);
  $("format-help").textContent = format ? `${format.description}${format.importable ? " It can be imported again." : ""}` : "";
}

$("format").addEventListener("change", showHelp);
$("export-form").addEventListener("submit", (event) => {
  event.preventDefault();
  run(`/api/v1/projects/${config.projectId}/exports`, request(), "The export");
});
$("bundle").addEventListener("click", () => run(`/api/v1/projects/${config.projectId}/bundles`, undefined, "The exit bundle"));
loadFormats();
