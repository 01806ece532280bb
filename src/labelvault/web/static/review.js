// The reviewer's page: takes the next annotation from the review queue, draws it read-only over its item,
// and accepts (A), rejects with a comment (R) or fixes it (F, then Ctrl+Enter); H shows its history.
import { api } from "./frame.js";
import { el } from "./widgets.js";
import { answerViews, itemFields } from "./itemview.js";

const config = JSON.parse(document.getElementById("lv-config").textContent);
const schema = config.schema;
const $ = (id) => document.getElementById(id);
const state = { task: null, fixing: false, view: null, busy: false };
const setStatus = (text) => { $("status").textContent = text; };

function drawAnswers() {
  const answers = state.fixing ? state.view?.answers() : state.task.annotation.answers;
  state.view = answerViews(schema, state.task.item, answers, { readOnly: !state.fixing });
  $("questions").replaceChildren(...state.view.parts);
  $("mode").classList.toggle("hidden", !state.fixing);
  $("fix").textContent = state.fixing ? "Cancel fix" : "Fix";
}

async function drawHistory() {
  const annotation = state.task.annotation;
  const [revisions, reviews] = await Promise.all([api("GET", `/api/v1/annotations/${annotation.id}/revisions`),
                                                  api("GET", `/api/v1/annotations/${annotation.id}/reviews`)]);
  const entries = [
    ...(reviews.data ?? []).map((r) => el("div", { class: "revision" },
      el("strong", { text: `Review: ${r.decision}` }), el("span", { text: ` · ${r.created_at}` }),
      r.comment ? el("p", { text: r.comment }) : null)),
    ...(revisions.data ?? []).map((r) => el("div", { class: "revision" },
      el("strong", { text: `Revision ${r.number}` }), el("span", { text: ` · ${r.made_at}` }),
      el("pre", { text: JSON.stringify(r.answers, null, 1) }))),
  ];
  if (annotation !== state.task?.annotation) return;
  $("history-list").replaceChildren(...(entries.length ? entries : [el("p", { text: "No earlier revisions or reviews." })]));
}

async function loadNext() {
  const result = await api("POST", `/api/v1/projects/${config.projectId}/review/next`);
  if (result.status === 204) {
    state.task = null;
    $("layout").classList.add("hidden"); $("done").classList.remove("hidden");
    document.body.dataset.annotationId = "";
    return;
  }
  if (!result.ok) { setStatus(result.data?.message ?? "Could not get the next annotation."); return; }
  state.task = result.data; state.fixing = false;
  $("item").replaceChildren(...itemFields(config.projectId, schema, state.task.item));
  $("layout").classList.toggle("no-fields", !$("item").childElementCount);
  const author = state.task.annotation.author_name ?? state.task.annotation.author_id;  // null when reviewing blind
  $("item-id").textContent = `Item ${state.task.item.external_id} · revision ${state.task.annotation.revision_count + 1}${author ? ` · by ${author}` : ""}`;
  drawAnswers();
  drawHistory();
  document.body.dataset.annotationId = state.task.annotation.id;
}

async function decide(decision, extra = {}) {
  if (!state.task || state.busy) return "";
  state.busy = true;
  try {
    const result = await api("POST", `/api/v1/annotations/${state.task.annotation.id}/review`, { decision, ...extra });
    if (!result.ok) return result.data?.message ?? `The decision was not saved (${result.status}).`;
    setStatus({ accept: "Accepted.", reject: "Rejected: returned to its author.", fix: "Fixed and accepted." }[decision]);
    await loadNext();
    return "";
  } finally {
    state.busy = false;
  }
}

async function report(promise) {
  const problem = await promise;
  if (problem) setStatus(problem);
}

function toggleFix() {
  if (!state.task) return;
  state.fixing = !state.fixing;
  drawAnswers();
}

function openReject() {
  if (!state.task) return;
  $("reject-problem").textContent = "";
  $("reject-comment").value = "";
  $("reject-dialog").showModal();
}

function togglePanel(id, className) {
  const open = $(id).classList.toggle("hidden") === false;
  $("layout").classList.toggle(className, open);
  $(`${id}-toggle`).setAttribute("aria-expanded", String(open));
}

function typing(target) {
  return target instanceof HTMLTextAreaElement || target?.isContentEditable
    || (target instanceof HTMLInputElement && !["radio", "checkbox", "button", "submit"].includes(target.type));
}

function onKey(event) {
  if (document.querySelector("dialog[open]") || event.metaKey || event.altKey) return;
  if (event.ctrlKey && event.key === "Enter") {
    event.preventDefault();
    if (state.fixing) report(decide("fix", { answers: state.view.answers() }));
    return;
  }
  if (typing(event.target)) { if (event.key === "Escape") event.target.blur(); return; }
  if (event.ctrlKey) return;
  const key = event.key.toLowerCase();
  const actions = {
    "?": () => $("shortcuts").showModal(), g: () => togglePanel("guidelines", "guidelines-open"),
    h: () => togglePanel("history", "history-open"), f: toggleFix, r: openReject,
    escape: () => { if (state.fixing) toggleFix(); },
    a: () => { if (!state.fixing) report(decide("accept")); },
  };
  if (actions[key]) { event.preventDefault(); actions[key](); }
}

$("reject-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const comment = $("reject-comment").value.trim();
  if (!comment) { $("reject-problem").textContent = "Say what must change: the annotator sees this comment."; return; }
  const problem = await decide("reject", { comment });
  $("reject-problem").textContent = problem;
  if (!problem) $("reject-dialog").close();
});
$("reject-cancel").addEventListener("click", () => $("reject-dialog").close());
$("reject").addEventListener("click", openReject);
$("accept").addEventListener("click", () => report(state.fixing ? decide("fix", { answers: state.view.answers() }) : decide("accept")));
$("fix").addEventListener("click", toggleFix);
$("history-toggle").addEventListener("click", () => togglePanel("history", "history-open"));
$("guidelines-toggle").addEventListener("click", () => togglePanel("guidelines", "guidelines-open"));
$("shortcuts-open").addEventListener("click", () => $("shortcuts").showModal());
$("questions").addEventListener("submit", (event) => event.preventDefault());
document.addEventListener("keydown", onKey);
loadNext();
