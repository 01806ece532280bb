// The item browser: filters and sort go to the paged items API; "More" follows its keyset cursor. A row opens
// the item with every annotation and review side by side; checked rows take bulk actions.
import { api } from "./frame.js";
import { el } from "./widgets.js";
import { answerViews, itemFields } from "./itemview.js";

const config = JSON.parse(document.getElementById("lv-config").textContent);
const schema = config.schema;
const $ = (id) => document.getElementById(id);
const state = { cursor: null, selected: new Set(), open: null };
const setStatus = (text) => { $("status").textContent = text; };

// People are chosen by name or e-mail (the members list fills the suggestions); the API filters by user id.
const people = new Map();

async function loadPeople() {
  const result = await api("GET", "/api/v1/members");
  if (!result.ok) return;
  const options = [];
  for (const member of result.data) {
    people.set(member.email.toLowerCase(), member.user_id);
    if (member.name) people.set(member.name.toLowerCase(), member.user_id);
    options.push(el("option", { value: member.email, label: member.name || member.email }));
  }
  $("people").replaceChildren(...options);
}

function query() {
  const params = new URLSearchParams({ limit: "50" });
  for (const [name, value] of new FormData($("filters"))) {
    let text = String(value).trim();
    if (!text) continue;
    if (name === "annotator" || name === "reviewer") text = people.get(text.toLowerCase()) ?? text;
    params.append(name, name.startsWith("updated_") ? `${text}T00:00:00Z` : text);
  }
  return params;
}

function showSelected() {
  $("selected").textContent = `${state.selected.size} selected`;
}

function row(item) {
  const box = el("input", { type: "checkbox", "aria-label": `Select ${item.external_id}` });
  box.checked = state.selected.has(item.id);
  box.addEventListener("change", () => { if (box.checked) state.selected.add(item.id); else state.selected.delete(item.id); showSelected(); });
  const link = el("button", { type: "button", class: "link", text: item.external_id, onclick: () => openItem(item.id) });
  return el("tr", { "data-item": item.id }, el("td", {}, box), el("td", {}, link), el("td", { text: item.state }),
            el("td", { text: String(item.annotation_count) }), el("td", { text: item.updated_at.slice(0, 19).replace("T", " ") }));
}

async function load(more = false) {
  const params = query();
  if (more && state.cursor) params.set("cursor", state.cursor);
  const result = await api("GET", `/api/v1/projects/${config.projectId}/items?${params}`);
  if (!result.ok) { setStatus(result.data?.message ?? `Could not load items (${result.status}).`); return; }
  const rows = result.data.items.map(row);
  if (more) $("rows").append(...rows); else $("rows").replaceChildren(...rows);
  state.cursor = result.data.next_cursor;
  $("more").classList.toggle("hidden", !state.cursor);
  const shown = $("rows").childElementCount;
  setStatus(shown ? `${shown} items shown${state.cursor ? "; more below" : ""}.` : "No items match.");
  document.body.dataset.shown = String(shown);
}

function reviewLine(review) {
  return el("li", {}, el("strong", { text: review.decision }),
            el("span", { text: ` · ${review.reviewer_name ?? review.reviewer_id} · ${review.created_at.slice(0, 19)}` }),
            review.comment ? el("p", { text: review.comment }) : null);
}

async function openItem(itemId) {
  const result = await api("GET", `/api/v1/items/${itemId}/detail`);
  if (!result.ok) { setStatus(result.data?.message ?? "Could not open the item."); return; }
  const { item, annotations } = result.data;
  for (const tr of $("rows").children) tr.classList.toggle("open", tr.dataset.item === itemId);
  const columns = annotations.map((a) => el("article", { class: "annotation", "data-annotation": a.id },
    el("h3", { text: `${a.status}${a.review_status ? ` · review ${a.review_status}` : ""}` }),
    el("p", { class: "help", text: `by ${a.author_name ?? a.author_id ?? "hidden"} · ${a.time_spent_ms} ms · ${a.revision_count} earlier revisions` }),
    ...answerViews(schema, item, a.answers, { readOnly: true }).parts,
    el("h4", { text: "Reviews" }),
    a.reviews.length ? el("ul", {}, ...a.reviews.map(reviewLine)) : el("p", { text: "None yet." })));
  $("detail").replaceChildren(el("h2", { text: `Item ${item.external_id} · ${item.state}` }),
    ...itemFields(config.projectId, schema, item),
    el("h3", { text: "Metadata" }), el("pre", { text: JSON.stringify(item.metadata, null, 1) }),
    el("div", { class: "annotations" }, ...(columns.length ? columns : [el("p", { text: "No annotations yet." })])));
  $("detail").classList.remove("hidden");
  document.body.dataset.openItem = itemId;
}

async function bulk(action, extra = {}) {
  if (!state.selected.size) { setStatus("Select items first."); return; }
  const result = await api("POST", `/api/v1/projects/${config.projectId}/items/bulk`,
                           { action, item_ids: [...state.selected], ...extra });
  if (!result.ok) { setStatus(result.data?.message ?? `The action failed (${result.status}).`); return; }
  state.selected.clear();
  showSelected();
  await load();
  setStatus(`${action.replace("_", " ")}: ${result.data.done.length} items done.`);
}

$("filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
$("more").addEventListener("click", () => load(true));
$("select-all").addEventListener("change", (event) => {
  for (const box of $("rows").querySelectorAll("input[type=checkbox]")) {
    box.checked = event.target.checked;
    box.dispatchEvent(new Event("change"));
  }
});
$("requeue").addEventListener("click", () => bulk("requeue"));
$("set-overlap").addEventListener("click", () => bulk("set_overlap", { overlap: Number($("overlap").value) }));
$("delete").addEventListener("click", () => {
  if (!state.selected.size) { setStatus("Select items first."); return; }
  $("delete-text").textContent = `Delete ${state.selected.size} items with all their annotations? This cannot be undone.`;
  $("delete-dialog").showModal();
});
$("delete-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("delete-dialog").close();
  await bulk("delete", { confirm: true });
});
$("delete-cancel").addEventListener("click", () => $("delete-dialog").close());
loadPeople();
load();
