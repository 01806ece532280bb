// The schema editor: the definition as JSON text; every edit re-draws the preview with the labeling widgets
// (on the project's first item, or a made-up one) and, a moment later, is checked by the server's dry run
// (POST /schema/validate, the checks of PUT /schema), whose problems appear beside the field or question they
// concern. Saving makes a new version.
import { api } from "./frame.js";
import { el } from "./widgets.js";
import { answerViews, itemFields } from "./itemview.js";

const config = JSON.parse(document.getElementById("lv-config").textContent);
const $ = (id) => document.getElementById(id);
const state = { sample: null, parsed: null, checked: 0, timer: null, saved: JSON.stringify(config.schema) };
const setStatus = (text) => { $("status").textContent = text; };

const SAMPLE = {
  text: "A sample sentence about Ada Lovelace in London.",
  number: 42,
  json: { example: true },
  image: "sample.png",
  chat: [{ role: "user", content: "What is the capital of France?" }, { role: "assistant", content: "Paris." }],
  responses: [{ id: "a", text: "The first candidate response." }, { id: "b", text: "The second candidate response." }],
};

// The sample item's data for this schema: the real item's value where it has one of the right shape.
function sampleItem(schema) {
  const data = {};
  for (const field of Array.isArray(schema.fields) ? schema.fields : []) {
    const real = state.sample?.data?.[field.name];
    const fits = real !== undefined && (field.kind === "chat" || field.kind === "responses" ? Array.isArray(real) : true);
    data[field.name] = fits ? real : structuredClone(SAMPLE[field.kind] ?? "");
  }
  return { id: state.sample?.id ?? "sample", external_id: state.sample?.external_id ?? "sample", data, metadata: {} };
}

// Where a problem's path points: ["fields", 2] or ["questions", 0], or [] for the schema as a whole.
function owner(path) {
  const [section, index] = String(path).split(".");
  return (section === "fields" || section === "questions") && /^\d+$/.test(index ?? "") ? [section, Number(index)] : [];
}

function outline(schema, problems) {
  const byPart = new Map();
  const general = [];
  for (const problem of problems) {
    const [section, index] = owner(problem.field);
    if (section === undefined) general.push(problem);
    else {
      const key = `${section}.${index}`;
      if (!byPart.has(key)) byPart.set(key, []);
      byPart.get(key).push(problem);
    }
  }
  const entries = [];
  for (const section of ["fields", "questions"]) {
    const list = Array.isArray(schema?.[section]) ? schema[section] : [];
    list.forEach((part, index) => {
      const found = byPart.get(`${section}.${index}`) ?? [];
      byPart.delete(`${section}.${index}`);
      const what = section === "fields" ? `field ${part?.name ?? "?"} (${part?.kind ?? "no kind"})` : `question ${part?.name ?? "?"} (${part?.type ?? "no type"})`;
      entries.push(el("li", { class: found.length ? "has-problem" : "", "data-part": `${section}.${index}` },
        el("span", { text: what }),
        ...found.map((p) => el("span", { class: "problem", text: `${p.field}: ${p.reason}` }))));
    });
  }
  general.push(...[...byPart.values()].flat());  // a problem at an index the text no longer has
  $("outline").replaceChildren(...entries);
  $("problems").replaceChildren(...general.map((p) => el("li", {}, el("code", { text: p.field || "(schema)" }), el("span", { text: ` ${p.reason}` }))));
}

function preview(schema) {
  try {
    if (!Array.isArray(schema.fields) || !Array.isArray(schema.questions)) throw new Error("fields and questions must be lists");
    const item = sampleItem(schema);
    const fields = itemFields(config.projectId, schema, item);
    const views = answerViews(schema, item, {}, { onChange: () => {} });
    $("preview-item").replaceChildren(...fields);
    $("preview-questions").replaceChildren(...views.parts);
    $("preview").dataset.questions = String(views.parts.length);
  } catch (error) {
    $("preview-questions").replaceChildren(el("p", { class: "problem", text: `The preview cannot draw this schema yet: ${error.message}` }));
  }
}

// Where the first syntax error of `text` is (an offset), by a small JSON reader: the browser's own message
// often does not say where.
const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

function errorOffset(text) {
  let i = 0;
  const fail = () => { throw new RangeError(String(i)); };
  const space = () => { while (i < text.length && " \t\n\r".includes(text[i])) i += 1; };
  const word = (w) => { if (text.startsWith(w, i)) i += w.length; else fail(); };
  const string = () => {
    i += 1;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === "\\") {
        i += 1;
        if (text[i] === "u") { if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail(); i += 4; }
        else if (!'"\\/bfnrt'.includes(text[i] ?? "?")) fail();
      }
      i += 1;
    }
    if (i >= text.length) fail();
    i += 1;
  };
  const value = () => {
    space();
    const c = text[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i += 1;
      space();
      if (text[i] === close) { i += 1; return; }
      for (;;) {
        if (c === "{") { space(); if (text[i] !== '"') fail(); string(); space(); if (text[i] !== ":") fail(); i += 1; }
        value();
        space();
        if (text[i] === ",") { i += 1; continue; }
        if (text[i] === close) { i += 1; return; }
        fail();
      }
    }
    if (c === '"') { string(); return; }
    if (c === "t" || c === "f" || c === "n") { word({ t: "true", f: "false", n: "null" }[c]); return; }
    NUMBER.lastIndex = i;
    const found = NUMBER.exec(text);
    if (!found) fail();
    i += found[0].length;
  };
  try {
    value();
    space();
    if (i < text.length) fail();
    return -1;
  } catch (error) {
    if (error instanceof RangeError) return Number(error.message);
    throw error;
  }
}

function syntaxProblem(text, error) {
  const reason = error.message.split(', "')[0].replace(/ in JSON at position \d+.*$/, "");
  const at = errorOffset(text);
  if (at < 0) return reason;
  const before = text.slice(0, at).split("\n");
  return `line ${before.length}, column ${before.at(-1).length + 1}: ${reason}.`;
}

async function check() {
  const ticket = ++state.checked;
  const result = await api("POST", `/api/v1/projects/${config.projectId}/schema/validate`, state.parsed);
  if (ticket !== state.checked) return;  // a later edit has been sent since
  if (!result.ok) { setStatus(result.data?.message ?? `Could not check the schema (${result.status}).`); return; }
  outline(state.parsed, result.data.problems);
  const changed = JSON.stringify(state.parsed) !== state.saved;
  $("definition").setAttribute("aria-invalid", String(!result.data.valid));
  $("save").disabled = !result.data.valid || !changed;
  setStatus(result.data.valid ? (changed ? "Valid: save it as a new version when ready." : "No changes.")
    : `${result.data.problems.length} problem${result.data.problems.length === 1 ? "" : "s"} to fix before saving.`);
  document.body.dataset.checked = result.data.valid ? "valid" : "invalid";
}

function edited() {
  const text = $("definition").value;
  clearTimeout(state.timer);
  delete document.body.dataset.checked;
  try {
    state.parsed = JSON.parse(text);
  } catch (error) {
    state.parsed = null;
    $("json-problem").textContent = `Not valid JSON: ${syntaxProblem(text, error)}`;
    $("definition").setAttribute("aria-invalid", "true");
    $("save").disabled = true;
    setStatus("Fix the JSON to see the preview.");
    document.body.dataset.checked = "invalid";
    return;
  }
  $("json-problem").textContent = "";
  if (state.parsed === null || typeof state.parsed !== "object" || Array.isArray(state.parsed)) {
    $("json-problem").textContent = "The schema is a JSON object with \"fields\" and \"questions\".";
    $("save").disabled = true;
    document.body.dataset.checked = "invalid";
    return;
  }
  preview(state.parsed);
  state.timer = setTimeout(check, 250);
}

$("definition").addEventListener("input", edited);
$("save").addEventListener("click", async () => {
  if (!state.parsed) return;
  $("save").disabled = true;
  const result = await api("PUT", `/api/v1/projects/${config.projectId}/schema`, state.parsed);
  if (!result.ok) {
    outline(state.parsed, result.data?.details?.problems ?? []);
    setStatus(result.data?.message ?? `Could not save (${result.status}).`);
    return;
  }
  state.saved = JSON.stringify(state.parsed);
  $("version").textContent = String(result.data.version);
  document.body.dataset.version = String(result.data.version);
  setStatus(`Saved as version ${result.data.version}. New work uses it; earlier annotations keep their version.`);
});

async function start() {
  const first = await api("GET", `/api/v1/projects/${config.projectId}/items?limit=1`);
  state.sample = first.ok ? (first.data.items[0] ?? null) : null;
  $("sample-note").textContent = state.sample ? `Drawn on item ${state.sample.external_id}; answers here are not saved.`
    : "Drawn on a made-up item (the project has no items yet); answers here are not saved.";
  $("definition").value = JSON.stringify(config.schema, null, 2);
  edited();
}
start();
