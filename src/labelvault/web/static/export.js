// The export page: the formats come from the API; the chosen filters queue an export job (or the exit bundle),
// whose progress is polled until its file can be downloaded. labelvault's own JSONL (every item with its
// annotations, the full record) needs no job: the server streams it as it is downloaded.
import { api } from "./frame.js";
import { el } from "./widgets.js";

const config = JSON.parse(document.getElementById("lv-config").textContent);
const $ = (id) => document.getElementById(id);
const NATIVE = { name: "jsonl", extension: "jsonl", native: true, importable: true,
  description: "labelvault JSONL: every item with its annotations, the full record; streamed while it downloads." };
const STREAM_FILTERS = ["states", "since", "until", "include_drafts", "only_annotated"];
const formats = new Map([[NATIVE.name, NATIVE]]);
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

// The streamed export takes its filters in the link; the filters it has not are refused here, by name.
function stream(body) {
  const unknown = Object.keys(body).filter((name) => name !== "format" && !STREAM_FILTERS.includes(name));
  if (unknown.length) {
    $("form-problem").textContent = `labelvault JSONL has no ${unknown.join(", ")} filter; choose another format or leave it out.`;
    return;
  }
  $("form-problem").textContent = "";
  const params = new URLSearchParams({ format: "jsonl" });
  for (const state of body.states ?? []) params.append("state", state);
  for (const name of ["since", "until"]) if (body[name]) params.set(name, body[name]);
  for (const name of ["include_drafts", "only_annotated"]) if (body[name]) params.set(name, "true");
  const link = $("download");
  link.setAttribute("href", `/api/v1/projects/${config.projectId}/export?${params}`);
  link.textContent = "Download labelvault JSONL";
  link.classList.remove("hidden");
  $("job-progress").value = 100;
  $("job-text").textContent = "streamed while it downloads";
  setStatus("Ready: the file is made while it downloads.");
  document.body.dataset.exportState = "succeeded";
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
  for (const format of result.data) formats.set(format.name, format);  // a job format of the same name wins
  $("format").replaceChildren(...[...formats.values()].map((f) => el("option", { value: f.name, text: `${f.name} (.${f.extension})` })));
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
  delete document.body.dataset.exportState;
  if (formats.get($("format").value)?.native) stream(request());
  else run(`/api/v1/projects/${config.projectId}/exports`, request(), "The export");
});
$("bundle").addEventListener("click", () => run(`/api/v1/projects/${config.projectId}/bundles`, undefined, "The exit bundle"));
loadFormats();
