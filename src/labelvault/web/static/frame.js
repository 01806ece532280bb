// The frame's script: the API helper (session cookie + CSRF header) and sign-out.
const token = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export async function api(method, path, body) {
  const headers = { "x-csrf-token": token, accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, { method, headers, credentials: "same-origin",
                                        body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  if (response.status !== 204) {
    try { data = await response.json(); } catch { data = null; }
  }
  return { status: response.status, ok: response.ok, data };
}

document.getElementById("sign-out")?.addEventListener("click", async () => {
  await api("POST", "/api/v1/auth/logout");
  window.location.assign("/sign-in");
});
