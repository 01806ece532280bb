// Vendors and teams: add, revoke (with confirmation), and who saw an item.
import { api } from "./frame.js";

const status = document.getElementById("status");
const say = (text) => { status.textContent = text; };
const problem = (answer) => answer.data?.message ?? `The server answered ${answer.status}.`;

async function add(form, path, what) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = await api("POST", path, { name: new FormData(form).get("name") });
    if (!answer.ok) { say(problem(answer)); return; }
    say(`${what} ${answer.data.name} added.`);
    window.location.reload();
  });
}
add(document.getElementById("new-vendor"), "/api/v1/vendors", "Vendor");
add(document.getElementById("new-team"), "/api/v1/teams", "Team");

const dialog = document.getElementById("revoke-dialog");
let chosen = null;
for (const button of document.querySelectorAll("button.revoke")) {
  button.addEventListener("click", () => {
    chosen = button.dataset.vendorId;
    document.getElementById("revoke-name").textContent = button.dataset.vendorName;
    dialog.showModal();
  });
}
dialog.addEventListener("close", async () => {
  if (dialog.returnValue !== "revoke" || !chosen) return;
  const answer = await api("POST", `/api/v1/vendors/${encodeURIComponent(chosen)}/revoke`);
  if (!answer.ok) { say(problem(answer)); return; }
  const r = answer.data;
  say(`${r.vendor.name} revoked: ${r.people} people lost access, ${r.leases_released} leases released, ` +
      `${r.items_returned} pending items returned; its people saw ${r.exposure_items} items.`);
  const row = document.querySelector(`tr[data-vendor-id="${CSS.escape(chosen)}"]`);
  if (row) { row.cells[3].textContent = "revoked"; row.cells[6].textContent = ""; }
});

// A vendor's internal review: the share of its people's work its own reviewers check before yours.
for (const form of document.querySelectorAll("form.review-share")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const percent = Number(new FormData(form).get("percent"));
    const answer = await api("PATCH", `/api/v1/vendors/${encodeURIComponent(form.dataset.vendorId)}`,
                             { review_percent: percent });
    if (!answer.ok) { say(problem(answer)); return; }
    say(`${answer.data.name}: its own reviewers now check ${answer.data.review_percent} % of its people's work ` +
        "before your review.");
  });
}

const exposure = document.getElementById("exposure");
exposure.addEventListener("submit", async (event) => {
  event.preventDefault();
  const item = String(new FormData(exposure).get("item")).trim();
  const answer = await api("GET", `/api/v1/exposure/items/${encodeURIComponent(item)}`);
  const table = document.getElementById("exposure-rows");
  const body = table.querySelector("tbody");
  body.replaceChildren();
  if (!answer.ok) { table.classList.add("hidden"); say(problem(answer)); return; }
  for (const row of answer.data) {
    const tr = document.createElement("tr");
    for (const value of [row.actor_email || row.actor_user_id, row.vendor_id, row.accesses,
                         (row.fields || []).join(", "), row.first_seen, row.last_seen]) {
      const td = document.createElement("td");
      td.textContent = value ?? "";
      tr.append(td);
    }
    body.append(tr);
  }
  table.classList.remove("hidden");
  say(answer.data.length ? `${answer.data.length} people saw this item.` : "Nobody saw this item yet.");
});
