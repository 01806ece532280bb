import { api } from "./frame.js";

const form = document.getElementById("password-form");
const status = form.querySelector(".status");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const fields = new FormData(form);
  const result = await api("POST", "/api/v1/me/password", {
    current_password: fields.get("current_password"), new_password: fields.get("new_password") });
  status.classList.toggle("error", !result.ok);
  status.textContent = result.ok ? "Your password is changed." : (result.data?.message ?? "The change failed.");
  if (result.ok) form.reset();
});
