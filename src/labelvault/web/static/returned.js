// The annotator's returned work: each rejected annotation with the reviewer's comment; open one, fix the
// answers over the item and submit again (it goes back to review).
import { api } from "./frame.js";
import { el } from "./widgets.js";
import { answerViews, itemFields } from "./itemview.js";

const config = JSON.parse(document.getElementById("lv-config").textContent);
const schema = config.schema;
const $ = (id) => document.getElementById(id);
const state = { annotation: null, view: null, busy: false };
const setStatus = (text) => { $("status").textContent = text; };

async function loadList() {
  state.annotation = null;
  $("fixing").classList.add("hidden");
  const result = await api("GET", `/api/v1/projects/${config.projectId}/returned`);
  if (!result.ok) { setStatus(result.data?.message ?? "Could not load the returned work."); return; }
  const rows = result.data.map((annotation) => el("li", { "data-annotation": annotation.id },
    el("p", {}, el("strong", { text: "Reviewer’s comment: " }), el("span", { class: "comment", text: annotation.review_comment ?? "" })),
    el("button", { type: "button", text: "Fix", onclick: () => open(annotation) })));
  $("returned-list").replaceChildren(...rows);
  $("returned-list").classList.remove("hidden");
  $("none").classList.toggle("hidden", rows.length > 0);
  document.body.dataset.returned = String(rows.length);
}

async function open(annotation) {
  const result = await api("GET", `/api/v1/items/${annotation.item_id}`);
  if (!result.ok) { setStatus(result.data?.message ?? "Could not load the item."); return; }
  state.annotation = annotation;
  state.item = result.data;
  $("comment").textContent = annotation.review_comment ?? "";
  $("item").replaceChildren(...itemFields(config.projectId, schema, result.data));
  state.view = answerViews(schema, result.data, annotation.answers);
  $("questions").replaceChildren(...state.view.parts);
  $("returned-list").classList.add("hidden");
  $("fixing").classList.remove("hidden");
  setStatus("");
}

async function resubmit() {
  if (!state.annotation || state.busy) return;
  state.busy = true;
  try {
    const result = await api("POST", `/api/v1/items/${state.annotation.item_id}/annotations`,
                             { answers: state.view.answers(), draft: false });
    if (!result.ok) {
      const problems = (result.data?.details?.problems ?? []).map((p) => `${p.field}: ${p.reason}`).join(" ");
      setStatus(`${result.data?.message ?? `Submitting failed (${result.status}).`} ${problems}`);
      return;
    }
    await loadList();
    setStatus("Submitted again: it goes back to review.");
  } finally {
    state.busy = false;
  }
}

$("resubmit").addEventListener("click", resubmit);
$("cancel").addEventListener("click", loadList);
$("questions").addEventListener("submit", (event) => event.preventDefault());
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "Enter") { event.preventDefault(); resubmit(); }
});
loadList();
