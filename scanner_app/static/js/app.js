// The scanner: sign in once, then read codes from the camera (or typed by hand), take the
// position with its accuracy, keep each scan on the phone, send it and show the verdict.
// The camera, the history and the photo code load when first needed: a phone on a slow
// line gets the sign-in form or the scanner sooner.

import * as api from "./api.js";
import * as queue from "./queue.js";
import * as store from "./store.js";
import { day, language, number, party, shortCode, t, territory, useNames, verdictOf } from "./words.js";

const config = document.body.dataset;
const $ = (id) => document.getElementById(id);
const POOR_POSITION_M = 500;   // a worse position is sent only when the inspector says so
const SAME_CODE_MS = 10_000;   // the same code read again within this time is not a new scan
const BACK_TO_READING_MS = 6000;

let state = "starting";        // starting | reading | holding | checking | verdict | away
let current = null;            // the scan (or draft) on screen
let position = null;           // {latitude, longitude, accuracy}
let positionError = null;
let camera = null;
let reader = null;
let backTimer = null;
// code -> when it was last read; kept over a reload, so the label still in front of the
// camera is not scanned again.
const reading = () => import("./reader.js");
const history = { render: async () => (await import("./history.js")).render(),
  refreshFromServer: async (bearer) => (await import("./history.js")).refreshFromServer(bearer) };

const recent = new Map(JSON.parse(sessionStorage.getItem("scanner:recent") || "[]"));
function sawCode(code) {
  const now = Date.now();
  recent.set(code, now);
  for (const [seen, at] of recent) if (now - at > SAME_CODE_MS) recent.delete(seen);
  sessionStorage.setItem("scanner:recent", JSON.stringify([...recent]));
}

// --- showing things ---------------------------------------------------------------------

function say(element, text, tone) {
  element.textContent = text || "";
  element.hidden = !text;
  if (tone) element.dataset.tone = tone; else delete element.dataset.tone;
}

let toastTimer = null;
function toast(text) {
  say($("toast"), text, "info");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => say($("toast"), ""), 4000);
}

function showSection(name) {
  for (const id of ["signin", "scanner", "history"]) $(id).hidden = id !== name;
  $("tabs").hidden = name === "signin";
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.setAttribute("aria-pressed", String(button.dataset.tab === name));
  }
}

async function showWaiting() {
  const count = await queue.waiting();
  const element = $("queue");
  element.dataset.waiting = String(count);
  element.hidden = false;
  element.textContent = count ? t("waiting", { count }) : t("all_sent");
}

function showNetwork() {
  const element = $("net");
  element.dataset.online = String(navigator.onLine);
  element.textContent = navigator.onLine ? t("online") : t("offline");
}

function showClock() {
  const offset = api.clockOffsetMs();
  say($("clock-status"), offset ? t("clock_off", { minutes: number(Math.abs(offset) / 60000) }) : "",
    "warning");
}

function showPosition() {
  const element = $("position-status");
  if (positionError && !position) say(element, t("position_unavailable", { reason: positionError }), "warning");
  else if (!position) say(element, t("position_finding"));
  else if (position.accuracy === null) say(element, t("position_no_accuracy"), "warning");
  else if (position.accuracy > POOR_POSITION_M) say(element, t("position_poor", { metres: number(position.accuracy) }), "warning");
  else say(element, t("position_ok", { metres: number(position.accuracy) }), "ok");
}

function fact(list, label, value) {
  const term = document.createElement("dt");
  term.textContent = label;
  const detail = document.createElement("dd");
  detail.textContent = value;
  list.append(term, detail);
}

function refusalText(scan) {
  const known = ["malformed_code", "no_serial", "not_an_item", "invalid_coordinates"];
  const code = scan.error && scan.error.code;
  return t(known.includes(code) ? `refused_${code}` : "refused_other");
}

function showVerdict(scan) {
  current = scan;
  const panel = $("verdict");
  const verdict = verdictOf(scan);
  const answer = scan.answer || {};
  if (verdict === "refused") {
    delete panel.dataset.verdict;
    panel.dataset.refused = scan.error.code;
  } else {
    panel.dataset.verdict = verdict;
    delete panel.dataset.refused;
  }
  panel.dataset.clientScanId = scan.client_scan_id;
  $("verdict-title").textContent = t(`verdict_${verdict}`);
  $("verdict-code").textContent = answer.serial || shortCode(scan.code);
  const explain = verdict === "refused" ? refusalText(scan) : t(`explain_${verdict}`);
  const said = verdict === "refused" && scan.error.message ? ` ${t("server_said", { message: scan.error.message })}` : "";
  $("verdict-explain").textContent = explain + said;
  const facts = $("verdict-facts");
  facts.replaceChildren();
  if (verdict === "diverted" || (answer.near_border && verdict === "authentic")) {
    fact(facts, t("expected_in"), (answer.expected_territories || []).map(territory).join(", "));
  }
  if (scan.status === "sent") fact(facts, t("found_in"), territory(answer.found_territory));
  if (verdict === "diverted") fact(facts, t("responsible"), party(answer.responsible_party));
  say($("verdict-near-border"), answer.near_border ? t("near_border") : "");
  $("evidence").hidden = verdict === "refused";
  panel.hidden = false;
  state = "verdict";
  requestAnimationFrame(() => requestAnimationFrame(() => {
    performance.mark("scanner:verdict-shown", { detail: { verdict, client_scan_id: scan.client_scan_id } });
  }));
}

function showChecking(scan) {
  const panel = $("verdict");
  delete panel.dataset.verdict;
  delete panel.dataset.refused;
  panel.dataset.clientScanId = scan.client_scan_id;
  $("verdict-title").textContent = t("checking");
  $("verdict-code").textContent = shortCode(scan.code);
  $("verdict-explain").textContent = "";
  $("verdict-facts").replaceChildren();
  say($("verdict-near-border"), "");
  $("evidence").hidden = true;
  panel.hidden = false;
}

function backSoon() {
  clearTimeout(backTimer);
  backTimer = setTimeout(() => {
    if (state === "verdict" && !$("evidence").open) next();
  }, BACK_TO_READING_MS);
}

function next() {
  clearTimeout(backTimer);
  const panel = $("verdict");
  panel.hidden = true;
  delete panel.dataset.verdict;
  delete panel.dataset.refused;
  $("position-warning").hidden = true;
  $("evidence").open = false;
  $("evidence-form").reset();
  say($("evidence-message"), "");
  current = null;
  state = "reading";
}

// --- a scan -----------------------------------------------------------------------------

function positionProblem() {
  if (!position) return "none";
  if (position.accuracy === null) return "no_accuracy";
  return position.accuracy > POOR_POSITION_M ? "poor" : null;
}

function onCode(text) {
  if (state !== "reading") return;
  const code = text.trim();
  if (!code) {
    toast(t("empty_code"));
    return;
  }
  // "Within 10 s" counts from the last time the code was seen: a label left in front of
  // the camera is one scan, not one every 10 s.
  const last = recent.get(code);
  sawCode(code);
  if (last && Date.now() - last < SAME_CODE_MS) {
    toast(t("same_code"));
    return;
  }
  const draft = { code, read_at: api.now() };
  if (positionProblem()) hold(draft); else record(draft);
}

function hold(draft) {
  state = "holding";
  current = draft;
  const problem = positionProblem();
  const text = problem === "none" ? t("no_position_yet")
    : problem === "no_accuracy" ? t("position_no_accuracy")
      : t("position_poor", { metres: number(position.accuracy) });
  $("position-warning-text").textContent = text;
  $("position-warning").querySelector("[data-action=send-anyway]").hidden = problem === "none";
  $("position-warning").hidden = false;
}

async function record(draft) {
  $("position-warning").hidden = true;
  state = "checking";
  const scan = {
    client_scan_id: crypto.randomUUID(), code: draft.code,
    latitude: position.latitude, longitude: position.longitude,
    accuracy_m: position.accuracy === null ? null : Math.round(position.accuracy * 10) / 10,
    scanned_at: draft.read_at.toISOString(), day: day(draft.read_at),
    device_id: await store.deviceId(), status: "pending", answer: null, error: null,
    created: Date.now(),
  };
  await queue.add(scan);
  current = scan;
  showChecking(scan);
  const done = await queue.sendNow(scan);
  if (current && current.client_scan_id === scan.client_scan_id) {
    showVerdict(done);
    backSoon();
  }
}

// --- camera, position, clock ------------------------------------------------------------

let cameraStarting = null;
function startReading() {
  if (!camera && !cameraStarting) cameraStarting = openCamera().finally(() => { cameraStarting = null; });
  return cameraStarting;
}

async function openCamera() {
  const status = $("camera-status");
  say(status, t("camera_starting"));
  try {
    camera = await (await reading()).startCamera($("camera"));
  } catch (error) {
    say(status, t("camera_unavailable", { reason: error.message || error.name }), "warning");
    return;
  }
  if ($("scanner").hidden) {
    stopReading(); // the inspector went to the history meanwhile
    return;
  }
  const torch = document.querySelector("[data-action=torch]");
  torch.hidden = !camera.torch;
  if (!reader) {
    say(status, t("decoder_loading"));
    try {
      reader = await (await reading()).makeDetector();
    } catch (error) {
      say(status, t("decoder_failed", { reason: error.message || error.name }), "warning");
      return;
    }
    document.documentElement.dataset.reader = reader.kind;
    (await reading()).readContinuously($("camera"), reader.detector, () => state === "reading" && camera !== null, onCode);
  }
  say(status, t("camera_ready"));
}

function stopReading() {
  if (!camera) return;
  const stopping = camera;
  camera = null;
  reading().then((reader) => reader.stopCamera(stopping));
}

function watchPosition() {
  if (!navigator.geolocation) {
    positionError = "no geolocation";
    showPosition();
    return;
  }
  navigator.geolocation.watchPosition((found) => {
    const { latitude, longitude, accuracy } = found.coords;
    position = { latitude, longitude, accuracy: Number.isFinite(accuracy) ? accuracy : null };
    positionError = null;
    showPosition();
    // A scan held for want of a position goes on by itself once a good one comes.
    if (state === "holding" && !positionProblem()) record(current);
  }, (error) => {
    positionError = error.code === 1 ? t("position_denied") : (error.message || String(error.code));
    showPosition();
  }, { enableHighAccuracy: true, maximumAge: 10_000, timeout: 30_000 });
}

// --- signing in ---------------------------------------------------------------------------

function showSignIn(message) {
  stopReading();
  state = "away";
  showSection("signin");
  say($("signin-message"), message || "", message ? "warning" : undefined);
  performance.mark("scanner:usable");
}

async function takeToken(csrfToken) {
  const issued = await api.deviceToken(csrfToken);
  await queue.signedIn(issued);
  return issued;
}

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const session = await api.signIn(form.username.value.trim(), form.password.value);
    await takeToken(session.csrf_token);
    form.password.value = "";
    await startApp();
  } catch (error) {
    let text;
    if (error instanceof api.TryLater) text = t("sign_in_needs_network");
    else if (error.code === "invalid_credentials") text = t("wrong_password");
    else if (error.code === "rate_limited") {
      text = t("too_many_sign_ins", { minutes: Math.max(1, Math.ceil(Number(error.message) / 60)) });
    }
    else if (error.code === "not_inspector") text = t("not_inspector");
    else text = t("sign_in_failed", { reason: error.message || error.code });
    say($("signin-message"), text, "warning");
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  if (await queue.waiting()) {
    say($("account-message"), t("sign_out_blocked"), "warning");
    return;
  }
  await queue.signedOut();
  try { await api.signOut(); } catch (_) { /* offline: the web session ends by itself */ }
  showSignIn();
}

async function loadNames(bearer) {
  const key = `names:${language}`;
  useNames(await store.setting(key));
  try {
    const names = await api.names(bearer, language);
    useNames(names);
    await store.remember(key, names);
  } catch (_) { /* offline: the names kept last time, or codes */ }
}

async function startApp() {
  const bearer = await queue.token();
  const user = await store.setting("user");
  $("account").textContent = user ? t("signed_in_as", { name: user }) : "";
  showSection(location.hash === "#history" ? "history" : "scanner");
  if (state === "away" || state === "starting") state = "reading";
  performance.mark("scanner:usable");
  document.documentElement.dataset.ready = "true";
  await showWaiting();
  if (location.hash === "#history") history.render(); else startReading();
  loadNames(bearer).then(() => (current && current.status ? showVerdict(current) : null));
  queue.flush().then(showClock);
}

async function boot() {
  $("signin-form").addEventListener("submit", signIn);
  $("signin-form").querySelector("button[type=submit]").disabled = false;
  showNetwork();
  showPosition();
  if (await queue.token()) {
    watchPosition();
    await startApp();
    return;
  }
  showSignIn();
  watchPosition();
  try {
    // Signed in to the site on this phone already: no need to type the password again.
    const session = await api.session();
    if (session.signed_in && ["inspector", "admin"].includes(session.role) && state === "away") {
      await takeToken(session.csrf_token);
      await startApp();
    }
  } catch (error) {
    if (error instanceof api.TryLater) say($("signin-message"), t("sign_in_needs_network"), "warning");
  }
}

function clearHash() {
  window.history.replaceState(null, "", location.pathname);
}

// --- events -------------------------------------------------------------------------------

queue.onChange(async (what) => {
  if (what.signIn === "lost") {
    showSignIn(t("sign_in_again"));
    return;
  }
  if (what.scan && current && current.client_scan_id === what.scan.client_scan_id
      && state === "verdict" && what.scan.status !== current.status) {
    showVerdict(what.scan);
  }
  if (what.evidence && current && current.client_scan_id === what.evidence.client_scan_id) {
    const message = what.evidence.status === "sent" ? t("evidence_sent")
      : what.evidence.status === "refused" ? `${t("evidence_refused")} ${what.evidence.error.message || ""}`
        : t("evidence_kept");
    say($("evidence-message"), message, what.evidence.status === "refused" ? "warning" : "ok");
  }
  await showWaiting();
  showClock();
  if (!$("history").hidden) history.render();
});

$("manual").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("manual-code");
  if (state !== "reading") next();
  onCode(input.value);
  if (state !== "reading") input.value = "";
});

document.addEventListener("click", async (event) => {
  const target = event.target.closest("[data-action], [data-tab]");
  if (!target) return;
  const action = target.dataset.action;
  if (action === "next") next();
  else if (action === "send-anyway" && state === "holding" && position) record(current);
  else if (action === "cancel-scan") next();
  else if (action === "sign-out") signOut();
  else if (action === "torch" && camera) {
    const on = target.getAttribute("aria-pressed") !== "true";
    try {
      await (await reading()).setTorch(camera, on);
      target.setAttribute("aria-pressed", String(on));
      target.textContent = on ? t("torch_on") : t("torch_off");
    } catch (_) { target.hidden = true; }
  } else if (target.dataset.tab === "history") {
    location.hash = "#history";
    stopReading();
    showSection("history");
    await history.refreshFromServer(await queue.token());
    history.render();
  } else if (target.dataset.tab === "scan") {
    clearHash();
    showSection("scanner");
    startReading();
  }
});

$("evidence").addEventListener("toggle", () => clearTimeout(backTimer));

$("evidence-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const message = $("evidence-message");
  const note = form.note.value.trim();
  const file = form.photo.files[0];
  if (!note && !file) return say(message, t("evidence_empty"), "warning");
  if (note.length > 2000) return say(message, t("note_too_long"), "warning");
  let photo = null;
  if (file) {
    const { PhotoProblem, resizePhoto } = await import("./photo.js");
    try {
      photo = await resizePhoto(file);
    } catch (error) {
      return say(message, t(error instanceof PhotoProblem ? error.message : "photo_not_image"), "warning");
    }
  }
  await queue.addEvidence(current.client_scan_id, note, photo);
});

window.addEventListener("online", () => { showNetwork(); queue.flush(); });
window.addEventListener("offline", showNetwork);
window.addEventListener("focus", () => queue.flush());
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") queue.flush();
});
// There is no Background Sync on iOS: a timer tries again while the app is open.
setInterval(() => queue.flush(), 15_000);

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(config.sw, { scope: config.scope })
    .then(() => navigator.serviceWorker.ready)
    .then(() => { document.documentElement.dataset.offlineReady = "true"; })
    .catch(() => { /* without it the app still works online */ });
}

boot();
