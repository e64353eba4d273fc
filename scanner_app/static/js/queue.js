// The scans on the phone and their way to the server. A scan is stored first (status
// "pending"), then sent; the server's answer replaces "pending". A scan reaches the server
// once: the API answers a repeated client_scan_id with its first answer, and the phone
// never sends one scan twice at the same time. A lost sign-in (401) keeps everything.

import * as api from "./api.js";
import * as store from "./store.js";

const listeners = new Set();
export const onChange = (listener) => listeners.add(listener);
const changed = (what) => listeners.forEach((listener) => listener(what));

const inFlight = new Set();
let flushing = null;
let lost = false;
export const signInLost = () => lost;

export const token = () => store.setting("token");

export async function add(scan) {
  await store.put("scans", scan);
  changed({ scan });
}

export async function waiting() {
  const [scans, evidence] = await Promise.all([store.all("scans"), store.all("evidence")]);
  return scans.filter((s) => s.status === "pending").length
    + evidence.filter((e) => e.status === "pending").length;
}

async function loseSignIn() {
  lost = true;
  await store.forget("token");
  changed({ signIn: "lost" });
}

export async function signedIn(issued) {
  await store.remember("token", issued.token);
  await store.remember("user", issued.user);
  lost = false;
  changed({ signIn: "ok" });
}

export async function signedOut() {
  await store.forget("token");
  await store.forget("user");
}

async function sendScan(bearer, scan) {
  if (inFlight.has(scan.client_scan_id)) return scan;
  inFlight.add(scan.client_scan_id);
  let done;
  try {
    const answer = await api.postScan(bearer, scan);
    done = { ...scan, status: "sent", answer, error: null };
  } catch (error) {
    if (!(error instanceof api.Refused)) throw error; // lost sign-in, or try later
    done = { ...scan, status: "refused", error: { status: error.status, code: error.code, message: error.message } };
  } finally {
    inFlight.delete(scan.client_scan_id);
  }
  await store.put("scans", done);
  changed({ scan: done });
  return done;
}

/** Send a fresh scan at once; answers it as it now stands (still pending when offline). */
export async function sendNow(scan) {
  const bearer = await token();
  if (!bearer) {
    await loseSignIn();
    return scan;
  }
  try {
    const done = await sendScan(bearer, scan);
    flush(); // its evidence, and anything older still waiting
    return done;
  } catch (error) {
    if (error instanceof api.SignInLost) await loseSignIn();
    return scan;
  }
}

export async function addEvidence(clientScanId, note, photo) {
  const evidence = { client_scan_id: clientScanId, note, photo, status: "pending", error: null };
  await store.put("evidence", evidence);
  changed({ evidence });
  flush();
}

async function sendEvidence(bearer) {
  for (const evidence of await store.all("evidence")) {
    if (evidence.status !== "pending") continue;
    const scan = await store.get("scans", evidence.client_scan_id);
    if (!scan || scan.status === "pending") continue; // goes once the scan has its id
    let done;
    if (scan.status === "refused") {
      done = { ...evidence, status: "refused", error: { code: "scan_refused", message: "" } };
    } else {
      try {
        const answer = await api.postEvidence(bearer, scan.answer.scan_id, evidence);
        // The photo is on the server now: free the phone's space.
        done = { ...evidence, status: "sent", photo: null, answer, error: null };
      } catch (error) {
        if (!(error instanceof api.Refused)) throw error;
        done = { ...evidence, status: "refused", error: { status: error.status, code: error.code, message: error.message } };
      }
    }
    await store.put("evidence", done);
    changed({ evidence: done });
  }
}

async function sendWaiting() {
  const bearer = await token();
  if (!bearer) return;
  const scans = (await store.all("scans")).filter((s) => s.status === "pending");
  scans.sort((a, b) => a.created - b.created);
  try {
    for (const scan of scans) await sendScan(bearer, scan);
    await sendEvidence(bearer);
  } catch (error) {
    if (error instanceof api.SignInLost) await loseSignIn();
    // otherwise (no network, server busy) the rest waits for the next try
  }
  changed({ flushed: true });
}

/** Send whatever waits (on reconnecting, on focus, on a timer); one run at a time. */
export function flush() {
  if (!flushing) flushing = sendWaiting().finally(() => { flushing = null; });
  return flushing;
}
