// Talking to the server: signing in (the site's own /login form), the device's API token,
// and the JSON API with that token. Each call's outcome is one of: an answer, a refusal
// the inspector must see (4xx), a lost sign-in (401), or "try again later" (no network,
// a timeout, a server error).

const config = document.body.dataset;

export class SignInLost extends Error {}
export class Refused extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
export class TryLater extends Error {}

// The phone's clock against the server's (ms to add to Date.now()); scans taken offline
// are dated with the last difference seen.
let clockOffset = 0;
export const now = () => new Date(Date.now() + clockOffset);
export const clockOffsetMs = () => clockOffset;
export function noteServerTime(serverMs, sentAt, receivedAt) {
  if (!Number.isFinite(serverMs)) return;
  const measured = serverMs - (sentAt + receivedAt) / 2;
  // The Date header counts whole seconds: differences of a few seconds are noise.
  clockOffset = Math.abs(measured) > 120_000 ? measured : 0;
}

async function call(url, options = {}, timeoutMs = 8000) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const sentAt = Date.now();
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...options, signal: controller.signal });
  } catch (error) {
    throw new TryLater(error.name === "AbortError" ? "timeout" : "offline");
  } finally {
    clearTimeout(timer);
  }
  const date = response.headers.get("Date");
  if (date) noteServerTime(Date.parse(date), sentAt, Date.now());
  return response;
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch (_) { /* not JSON */ }
  return { code: `http_${response.status}`, message: response.statusText || String(response.status) };
}

async function answerOf(response) {
  if (response.ok) return response.json();
  if (response.status === 401) throw new SignInLost();
  // Busy, too many requests or a server fault: the scan waits and goes again.
  if (response.status >= 500 || response.status === 408 || response.status === 429) {
    throw new TryLater(`HTTP ${response.status}`);
  }
  const error = await errorOf(response);
  throw new Refused(response.status, error.code, error.message);
}

const bearer = (token) => ({ Authorization: `Bearer ${token}` });

let asking = null;

/** The web session's state and a fresh CSRF token (the cached shell's would be stale).
 * One request at a time: two at once, before the phone holds a session cookie, would
 * each open a session, and the CSRF token of one would go with the other's cookie. */
export function session() {
  if (!asking) {
    asking = (async () => {
      const response = await call(config.session, { cache: "no-store" });
      if (!response.ok) throw new TryLater(`HTTP ${response.status}`);
      const state = await response.json();
      noteServerTime(Date.parse(state.now), Date.now(), Date.now());
      return state;
    })().finally(() => { asking = null; });
  }
  return asking;
}

/** Sign in with the site's /login form; answers the web session's new state. */
export async function signIn(username, password) {
  const state = await session();
  const form = new FormData();
  form.set("username", username);
  form.set("password", password);
  form.set("csrf_token", state.csrf_token);
  const target = `${config.login}?next=${encodeURIComponent(config.session)}`;
  const response = await call(target, { method: "POST", body: form });
  if (response.status === 401) throw new Refused(401, "invalid_credentials", "");
  if (response.status === 429) {
    throw new Refused(429, "rate_limited", response.headers.get("Retry-After") || "");
  }
  if (!response.ok || new URL(response.url).pathname !== config.session) {
    throw new Refused(response.status, "sign_in_failed", `HTTP ${response.status}`);
  }
  return response.json();
}

/** A bearer token for this device, from the signed-in web session. */
export async function deviceToken(csrfToken) {
  const response = await call(config.token, { method: "POST", headers: { "X-CSRFToken": csrfToken } });
  if (response.status === 201) return response.json();
  const error = await errorOf(response);
  throw new Refused(response.status, error.code, error.message);
}

export async function signOut() {
  const state = await session();
  const form = new FormData();
  form.set("csrf_token", state.csrf_token);
  await call(config.logout, { method: "POST", body: form });
}

export async function postScan(token, scan) {
  const body = {
    code: scan.code, latitude: scan.latitude, longitude: scan.longitude,
    scanned_at: scan.scanned_at, client_scan_id: scan.client_scan_id, device_id: scan.device_id,
  };
  if (scan.accuracy_m !== null && scan.accuracy_m !== undefined) body.accuracy_m = scan.accuracy_m;
  const response = await call(`${config.api}/scans`, {
    method: "POST", headers: { ...bearer(token), "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return answerOf(response);
}

export async function postEvidence(token, scanId, evidence) {
  const form = new FormData();
  if (evidence.note) form.set("note", evidence.note);
  if (evidence.photo) form.set("photo", evidence.photo, "photo.jpg");
  const response = await call(`${config.api}/scans/${scanId}/evidence`, {
    method: "POST", headers: bearer(token), body: form,
  }, 30000);
  return answerOf(response);
}

export async function myScans(token) {
  const response = await call(`${config.api}/scans?limit=200`, { headers: bearer(token) });
  return answerOf(response);
}

export async function names(token, lang) {
  const response = await call(`${config.names}?lang=${encodeURIComponent(lang)}`, { headers: bearer(token) });
  return answerOf(response);
}
