// A project's routing rules as JSON: shown, checked in the browser for syntax, saved through the API.
import { api } from "./frame.js";

const config = JSON.parse(document.getElementById("lv-config").textContent);
const area = document.getElementById("rules");
const error = document.getElementById("rules-error");
const status = document.getElementById("status");
area.value = JSON.stringify(config.rules, null, 2);

document.getElementById("save").addEventListener("click", async () => {
  error.textContent = "";
  let rules;
  try {
    rules = JSON.parse(area.value);
  } catch (exc) {
    error.textContent = `Not JSON: ${exc.message}`;
    return;
  }
  if (!Array.isArray(rules)) { error.textContent = "The rules must be a JSON list."; return; }
  const answer = await api("PUT", `/api/v1/projects/${encodeURIComponent(config.projectId)}/routing`, { rules });
  if (!answer.ok) {
    const where = answer.data?.details?.field;
    error.textContent = (where ? `${where}: ` : "") + (answer.data?.message ?? `The server answered ${answer.status}.`);
    return;
  }
  status.textContent = `${answer.data.rules.length} rules saved; ${answer.data.items_moved} pending items changed pool.`;
});
