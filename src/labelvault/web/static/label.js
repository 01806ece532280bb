// The labeling page: takes the next item from the API, draws the item and its questions, keeps a draft
// (in this browser at once, on the server shortly after), heartbeats the lease while the person works,
// submits with Ctrl+Enter and shows the next item without reloading the page.
import { api } from "./frame.js";
import { BUILDERS, el } from "./widgets.js";
import { itemFields, visible as isVisible } from "./itemview.js";
import { EXTRA_BUILDERS } from "./regions.js";

const config = JSON.parse(document.getElementById("lv-config").textContent);
const schema = config.schema;
const builders = { ...BUILDERS, ...EXTRA_BUILDERS };
const $ = (id) => document.getElementById(id);

const state = { lease: null, item: null, answers: {}, history: [], views: new Map(), activeMs: 0,
                lastTick: performance.now(), lastActivity: 0, lastBeat: 0, serverTimer: 0, expired: false,
                busy: false, draftSaving: null };

const draftKey = (itemId) => `labelvault:draft:${config.userId}:${itemId}`;
const setStatus = (text) => { $("status").textContent = text; };

const visible = (question, answers = state.answers) => isVisible(question, answers);

function empty(value) {
  if (typeof value === "string") return !value.trim();
  return value === undefined || value === null || (Array.isArray(value) && !value.length)
    || (typeof value === "object" && !Object.keys(value).length);
}

function payload() {
  const out = {};
  for (const q of schema.questions) {
    const value = state.answers[q.name];
    if (visible(q) && !empty(value)) out[q.name] = value;
  }
  return out;
}

// Problems the server would report, found before sending so they show at once next to the question.
function problemsOf(q, value) {
  if (empty(value)) return q.required ? ["This question is required."] : [];
  switch (q.type) {
    case "multiple_choice": return value.length < (q.min_selected || 0) ? [`Select at least ${q.min_selected}.`] : [];
    case "free_text": return value.length < q.min_length ? [`Write at least ${q.min_length} characters (now ${value.length}).`] : [];
    case "rubric": return q.criteria.filter((c) => value[c.name]?.score === undefined).map((c) => `Score “${c.title || c.name}”.`)
      .concat(q.comments === "required" ? q.criteria.filter((c) => !value[c.name]?.comment?.trim()).map((c) => `Comment on “${c.title || c.name}”.`) : []);
    case "pairwise": return [!value.choice ? "Choose A, B or a tie." : "", q.reason === "required" && !value.reason?.trim() ? "Give a reason." : ""].filter(Boolean);
    case "ranking": return value.length < (state.item.data[q.field] ?? []).length ? ["Rank every response."] : [];
    case "chat_evaluation": {
      const turns = (state.item.data[q.field] ?? []).map((m, i) => [m, i]).filter(([m]) => q.rate_roles.includes(m?.role));
      return [...turns.filter(([, i]) => value.turns?.[String(i)] === undefined).map(([, i]) => `Rate turn ${i + 1}.`),
              !value.verdict ? "Choose a verdict." : ""].filter(Boolean);
    }
    default: return [];
  }
}

function showProblems(byQuestion) {
  for (const [name, view] of state.views) {
    const list = byQuestion[name] ?? [];
    view.problem.textContent = list.join(" ");
    view.fieldset.setAttribute("aria-invalid", list.length ? "true" : "false");
  }
  const first = schema.questions.find((q) => byQuestion[q.name]?.length);
  if (first) state.views.get(first.name).fieldset.scrollIntoView({ block: "nearest" });
}

function saveLocal() {
  if (!state.item) return;
  localStorage.setItem(draftKey(state.item.id), JSON.stringify({ answers: state.answers, activeMs: state.activeMs }));
}

function saveServerDraft() {
  if (!state.item || state.expired || state.busy) return;
  const item = state.item;
  // Kept while in flight: a submission waits for it, so that the draft never arrives after the submission.
  const saving = api("POST", `/api/v1/items/${item.id}/annotations`,
                     { answers: payload(), draft: true, time_spent_ms: Math.round(state.activeMs) })
    .catch(() => ({ ok: false, status: 0, data: { message: "the server could not be reached" } }));
  state.draftSaving = saving;
  saving.then((result) => {
    if (state.draftSaving === saving) state.draftSaving = null;
    if (item !== state.item || state.busy) return;
    setStatus(result.ok ? "Draft saved." : `Draft kept in this browser only: ${result.data?.message ?? result.status}`);
  });
}

function changed({ redraw = true, name } = {}) {
  saveLocal();
  state.lastActivity = performance.now();
  clearTimeout(state.serverTimer);
  state.serverTimer = setTimeout(saveServerDraft, 1200);
  for (const q of schema.questions) state.views.get(q.name)?.fieldset.classList.toggle("hidden", !visible(q));
  if (redraw && name) state.views.get(name)?.widget.redraw?.();
}

function remember() {
  state.history.push(JSON.stringify(state.answers));
  if (state.history.length > 200) state.history.shift();
}

function undo() {
  const previous = state.history.pop();
  if (previous === undefined) { setStatus("Nothing to undo."); return; }
  state.answers = JSON.parse(previous);
  drawQuestions();
  changed();
  setStatus("Undone.");
}

function drawItem() {
  const parts = itemFields(config.projectId, schema, state.item);
  $("item").replaceChildren(...parts);
  $("item-id").textContent = `Item ${state.item.external_id}`;
  $("layout").classList.toggle("no-fields", !parts.length);
}

function drawQuestions() {
  state.views.clear();
  const form = $("questions");
  form.replaceChildren();
  schema.questions.forEach((q, index) => {
    const ctx = { item: state.item, question: q, value: () => state.answers[q.name],
      checkpoint: remember,
      set: (value, options = {}) => {
        if (!options.transient) remember();
        if (empty(value)) delete state.answers[q.name]; else state.answers[q.name] = value;
        state.views.get(q.name).problem.textContent = "";
        changed({ ...options, name: q.name });
      } };
    const builder = builders[q.type];
    const widget = builder ? builder(q, ctx) : { el: el("p", { text: `This page cannot show ${q.type} questions yet.` }), key: () => false };
    const problem = el("p", { class: "problem", role: "alert", id: `problem-${index}` });
    const fieldset = el("fieldset", { class: "question", tabindex: "-1", "data-question": q.name, "data-type": q.type,
                                      "aria-describedby": `problem-${index}` },
      el("legend", { text: `${q.title || q.name}${q.required ? "" : " (optional)"}` }),
      q.help ? el("p", { class: "help", text: q.help }) : null, widget.el, problem);
    fieldset.classList.toggle("hidden", !visible(q));
    form.append(fieldset);
    state.views.set(q.name, { fieldset, widget, problem, question: q });
  });
  markActive();
}

function activeView() {
  const views = [...state.views.values()].filter((v) => !v.fieldset.classList.contains("hidden"));
  return views.find((v) => v.fieldset.contains(document.activeElement))
    ?? views.find((v) => v.fieldset.classList.contains("active"))
    ?? views.find((v) => empty(state.answers[v.question.name])) ?? views[0];
}

function markActive(view = activeView()) {
  for (const v of state.views.values()) v.fieldset.classList.toggle("active", v === view);
}

function moveActive(step) {
  const views = [...state.views.values()].filter((v) => !v.fieldset.classList.contains("hidden"));
  const at = views.indexOf(activeView());
  const next = views[Math.max(0, Math.min(views.length - 1, at + step))];
  markActive(next);
  next?.fieldset.focus();
}

async function restoreDraft(item) {
  const local = localStorage.getItem(draftKey(item.id));
  if (local) {
    const saved = JSON.parse(local);
    return { answers: saved.answers ?? {}, activeMs: saved.activeMs ?? 0 };
  }
  return null;
}

async function restoreServerDraft(item) {
  const result = await api("GET", `/api/v1/items/${item.id}/annotations`);
  if (!result.ok || item !== state.item) return;
  const draft = (result.data ?? []).find((a) => a.author_id === config.userId && a.status === "draft");
  if (draft && empty(state.answers)) {
    state.answers = draft.answers; state.activeMs = draft.time_spent_ms;
    drawQuestions();
    setStatus("Your draft is back.");
  } else if (!draft) {
    await prefill(item);
  }
}

// A model's pre-labels, where the item has them and the person has not answered yet: the most confident
// prediction (then the newest) fills the questions in, to be checked before submitting.
async function prefill(item) {
  const result = await api("GET", `/api/v1/items/${item.id}/predictions`);
  if (!result.ok || item !== state.item || !empty(state.answers)) return;
  const ranked = [...(result.data ?? [])].sort((a, b) =>
    (b.score ?? -Infinity) - (a.score ?? -Infinity) || b.created_at.localeCompare(a.created_at));
  const best = ranked[0];
  if (!best || empty(best.answers)) return;
  state.answers = structuredClone(best.answers);
  document.body.dataset.prefilledBy = `${best.model_name} ${best.model_version}`;
  drawQuestions();
  setStatus(`Pre-filled by the model ${best.model_name} ${best.model_version}: check every answer.`);
}

function showItem(claim, local) {
  state.lease = claim.lease; state.item = claim.item; state.expired = false;
  state.answers = local?.answers ?? {}; state.activeMs = local?.activeMs ?? 0; state.history = [];
  state.lastBeat = performance.now(); holdUntil(Date.now() + config.leaseSeconds * 1000);
  delete document.body.dataset.prefilledBy;
  drawItem();
  drawQuestions();
  $("lease-banner").classList.add("hidden");
  document.body.dataset.itemId = state.item.id;
  if (!local) restoreServerDraft(state.item);
}

async function loadNext(startedAt) {
  const result = await api("POST", `/api/v1/projects/${config.projectId}/next`);
  if (result.status === 204) {
    state.item = null; state.lease = null;
    $("layout").classList.add("hidden"); $("done").classList.remove("hidden");
    document.body.dataset.itemId = "";
    return;
  }
  if (!result.ok) { setStatus(result.data?.message ?? "Could not get the next item."); return; }
  showItem(result.data, await restoreDraft(result.data.item));
  if (startedAt !== undefined) {
    // Measured once the next item has been laid out and painted: from then on it takes keys and clicks.
    requestAnimationFrame(() => setTimeout(() => { document.body.dataset.nextMs = String(performance.now() - startedAt); }));
  }
}

async function submit() {
  if (!state.item || state.busy) return;
  const problems = {};
  for (const q of schema.questions) {
    const list = visible(q) ? problemsOf(q, state.answers[q.name]) : [];
    if (list.length) problems[q.name] = list;
  }
  showProblems(problems);
  if (Object.keys(problems).length) { setStatus("Some answers need attention."); return; }
  state.busy = true;
  clearTimeout(state.serverTimer);
  const startedAt = performance.now();
  const item = state.item;
  try {
    if (state.draftSaving) await state.draftSaving;  // (its answer does not matter: the submission follows)
    const result = await api("POST", `/api/v1/items/${item.id}/annotations`,
                             { answers: payload(), draft: false, time_spent_ms: Math.round(state.activeMs) });
    if (result.status === 422) {
      const byQuestion = {};
      for (const p of result.data?.details?.problems ?? [{ field: "", reason: result.data?.message }]) {
        const name = String(p.field).split(/[.[]/)[0];
        (byQuestion[state.views.has(name) ? name : schema.questions[0].name] ??= []).push(`${p.field}: ${p.reason}`);
      }
      showProblems(byQuestion);
      setStatus("The server found problems; see the questions.");
      return;
    }
    if (result.status === 409 && result.data?.code === "item_completed") {
      // Others completed it while this person's lease was gone; the server kept the answers as a draft.
      localStorage.removeItem(draftKey(item.id));
      await loadNext();
      setStatus(result.data.message);
      return;
    }
    if (!result.ok) { setStatus(result.data?.message ?? `Submitting failed (${result.status}).`); return; }
    localStorage.removeItem(draftKey(item.id));
    setStatus("Submitted.");
    await loadNext(startedAt);
  } finally {
    state.busy = false;
  }
}

async function skip(reason) {
  const item = state.item;
  const result = await api("POST", `/api/v1/items/${item.id}/skip`, { reason });
  if (!result.ok) return result.data?.message ?? "Skipping failed.";
  localStorage.removeItem(draftKey(item.id));
  setStatus("Skipped.");
  await loadNext();
  return "";
}

function holdUntil(until) {
  // Counted on this browser's clock from the server's answer, so a skewed clock does not end a hold early.
  state.leaseUntil = until;
  document.body.dataset.heldUntil = new Date(until).toISOString();
}

async function heartbeat() {
  if (!state.lease || state.expired || state.beating) return;
  state.beating = true;  // until its answer is in, the hold is neither renewed nor ended
  try {
    const result = await api("POST", `/api/v1/leases/${state.lease.id}/heartbeat`);
    state.lastBeat = performance.now();
    if (result.ok) { state.lease = result.data; holdUntil(Date.now() + config.leaseSeconds * 1000); }
    else expire();
  } finally {
    state.beating = false;
  }
}

function expire() {
  if (state.expired) return;
  saveLocal();
  saveServerDraft();
  state.expired = true;
  const banner = $("lease-banner");
  banner.replaceChildren(document.createTextNode("Your hold on this item has ended. Your answers are kept as a draft. "),
    el("button", { type: "button", class: "secondary", text: "Continue", onclick: () => loadNext() }));
  banner.classList.remove("hidden");
}

function tick() {
  const now = performance.now();
  if (document.visibilityState === "visible" && state.item && !state.expired) state.activeMs += now - state.lastTick;
  state.lastTick = now;
  const seconds = Math.floor(state.activeMs / 1000);
  $("timer").textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  if (!state.lease || state.expired || state.beating) return;
  // Heartbeat only while the person works, so an abandoned tab gives its item back.
  const every = Math.min(60, config.leaseSeconds / 3) * 1000;
  if (state.lastActivity > state.lastBeat && now - state.lastBeat > every) heartbeat();
  const left = (state.leaseUntil - Date.now()) / 1000;
  const banner = $("lease-banner");
  if (left <= 0) expire();
  else if (left < Math.max(10, Math.min(120, config.leaseSeconds / 4))) {
    banner.textContent = `Your hold on this item ends in ${Math.ceil(left)} s. Keep working to keep it; your answers are saved.`;
    banner.classList.remove("hidden");
  } else banner.classList.add("hidden");
}

function typing(target) {
  return target instanceof HTMLTextAreaElement || target?.isContentEditable
    || (target instanceof HTMLInputElement && !["radio", "checkbox", "button", "submit"].includes(target.type));
}

function onKey(event) {
  if (document.querySelector("dialog[open]")) return;
  state.lastActivity = performance.now();
  if ((event.ctrlKey || event.metaKey) && event.key === "Enter") { event.preventDefault(); submit(); return; }
  if (typing(event.target)) {
    if (event.key === "Escape") { event.target.blur(); markActive(); }
    return;
  }
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") { event.preventDefault(); undo(); return; }
  if (event.metaKey || !state.item || (event.ctrlKey && !event.key.startsWith("Arrow"))) return;
  if (event.key === "?") { event.preventDefault(); $("shortcuts").showModal(); return; }
  if (event.key === "g" || event.key === "G") { event.preventDefault(); toggleGuidelines(); return; }
  if (event.key === "]" || event.key === "[") { event.preventDefault(); moveActive(event.key === "]" ? 1 : -1); return; }
  if ((event.key === "s" || event.key === "S") && !activeView()?.widget.ownsLetters) { event.preventDefault(); openSkip(); return; }
  if ((event.key === "Enter" || event.key === " ") && event.target.closest?.("button, a, select, summary")) return;
  const view = activeView();
  if (view && view.widget.key(event)) { event.preventDefault(); markActive(view); }
}

function toggleGuidelines() {
  const open = $("guidelines").classList.toggle("hidden") === false;
  $("layout").classList.toggle("guidelines-open", open);
  $("guidelines-toggle").setAttribute("aria-expanded", String(open));
}

function openSkip() {
  if (!state.item) return;
  $("skip-problem").textContent = "";
  $("skip-reason").value = "";
  $("skip-dialog").showModal();
}

$("skip-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const reason = $("skip-reason").value.trim();
  if (!reason) { $("skip-problem").textContent = "Give a reason for skipping."; return; }
  const problem = await skip(reason);
  $("skip-problem").textContent = problem;
  if (!problem) $("skip-dialog").close();
});
$("skip-cancel").addEventListener("click", () => $("skip-dialog").close());
$("skip-open").addEventListener("click", openSkip);
$("submit").addEventListener("click", submit);
$("undo").addEventListener("click", undo);
$("guidelines-toggle").addEventListener("click", toggleGuidelines);
$("shortcuts-open").addEventListener("click", () => $("shortcuts").showModal());
$("questions").addEventListener("submit", (event) => event.preventDefault());
$("questions").addEventListener("focusin", () => markActive());
document.addEventListener("keydown", onKey);
for (const type of ["pointerdown", "input"]) document.addEventListener(type, () => { state.lastActivity = performance.now(); });
setInterval(tick, 1000);
loadNext();
