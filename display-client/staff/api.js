// Calls to /api/v1 from a staff page: the session cookie goes by itself,
// every write carries the session's CSRF token. Errors come back as
// { status, code, message } (the server's JSON error, its message the
// Chinese sentence of its code: ../messages.js), never thrown.
import { messageFor } from "../messages.js";

let csrf = "";

/** Keeps the CSRF token of the session (from the login or GET /session). */
export function setCsrf(token) { csrf = token || ""; }

/** One call; resolves { ok, status, body } or { ok: false, status, code, message }. */
export async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") headers["x-csrf-token"] = csrf;
  let r;
  try {
    r = await fetch(`/api/v1${path}`, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, code: "offline", message: messageFor("offline") };
  }
  let json = null;
  try { json = await r.json(); } catch { /* an empty answer */ }
  if (r.ok) return { ok: true, status: r.status, body: json };
  const e = (json && json.error) || {};
  return { ok: false, status: r.status, code: e.code || "error", message: messageFor(e.code, e.message), field: e.field };
}

/** The session, or null when logged out (401). */
export async function currentSession() {
  const r = await api("GET", "/session");
  if (r.ok) { setCsrf(r.body.csrf_token); return r.body; }
  if (r.status === 401) return null;
  throw new Error(r.message);
}
