// Members and tokens: invite (the single-use link is shown once), change a role, remove after confirming;
// create a token (its secret is shown once) and revoke one. Every change goes through the accounts API.
import { api } from "./frame.js";
import { el } from "./widgets.js";

const config = JSON.parse(document.getElementById("lv-config").textContent);
const $ = (id) => document.getElementById(id);
const setStatus = (text) => { $("status").textContent = text; };
const failed = (result, what) => setStatus(result.data?.message ?? `${what} failed (${result.status}).`);
let removing = null;

$("invite-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = await api("POST", "/api/v1/invitations", { email: $("invite-email").value.trim(), role: $("invite-role").value });
  if (!result.ok) { failed(result, "The invitation"); return; }
  $("invite-link").textContent = result.data.link;
  $("invite-result").classList.remove("hidden");
  setStatus(`Invited ${result.data.email} as ${result.data.role}${result.data.emailed ? "; the link was e-mailed" : ""}.`);
  $("invite-email").value = "";
});

for (const select of document.querySelectorAll("#members select.role")) {
  select.addEventListener("change", async () => {
    const userId = select.closest("tr").dataset.user;
    const result = await api("PATCH", `/api/v1/members/${userId}`, { role: select.value });
    if (!result.ok) { select.value = select.dataset.was; failed(result, "Changing the role"); return; }
    select.dataset.was = result.data.role;
    setStatus(`${result.data.email} is now ${result.data.role}.`);
  });
}

for (const button of document.querySelectorAll("#members button.remove")) {
  button.addEventListener("click", () => {
    removing = button.closest("tr");
    $("remove-text").textContent = `Remove ${button.dataset.email} from the organization? Their tokens and sessions stop working here at once and the items they hold go back to the queue; their annotations stay.`;
    $("remove-dialog").showModal();
  });
}
$("remove-cancel").addEventListener("click", () => { removing = null; $("remove-dialog").close(); });
$("remove-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("remove-dialog").close();
  if (!removing) return;
  const row = removing;
  removing = null;
  const result = await api("DELETE", `/api/v1/members/${row.dataset.user}`);
  if (!result.ok) { failed(result, "Removing the member"); return; }
  setStatus(`Removed ${row.querySelector("button.remove").dataset.email}.`);
  row.remove();
});

async function revoke(row) {
  const result = await api("DELETE", `/api/v1/tokens/${row.dataset.token}`);
  if (!result.ok) { failed(result, "Revoking the token"); return; }
  row.querySelector(".token-state").textContent = "revoked";
  row.querySelector("button.revoke")?.remove();
  setStatus(`Revoked ${result.data.name}.`);
}

for (const button of document.querySelectorAll("#tokens button.revoke")) {
  button.addEventListener("click", () => revoke(button.closest("tr")));
}

const day = (value) => (value ? value.slice(0, 10) : "never");

$("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { name: $("token-name").value.trim(), scope: $("token-scope").value };
  if ($("token-days").value) body.expires_in_days = Number($("token-days").value);
  const result = await api("POST", "/api/v1/tokens", body);
  if (!result.ok) { failed(result, "Creating the token"); return; }
  const token = result.data;
  $("token-secret").textContent = token.token;
  $("token-result").classList.remove("hidden");
  const row = el("tr", { "data-token": token.id },
    el("td", { text: token.name }), el("td", { text: "you" }), el("td", { text: token.scope }),
    el("td", {}, el("code", { text: token.prefix })), el("td", { text: day(token.created_at) }),
    el("td", { text: day(token.expires_at) }), el("td", { text: "–" }), el("td", { class: "token-state", text: "active" }),
    el("td", {}));
  const button = el("button", { type: "button", class: "secondary danger revoke", "aria-label": `Revoke ${token.name}`, text: "Revoke" });
  button.addEventListener("click", () => revoke(row));
  row.lastChild.append(button);
  $("token-rows").append(row);
  setStatus(`Created ${token.name}.`);
  $("token-name").value = "";
});
document.body.dataset.ready = config.userId ? "1" : "0";
