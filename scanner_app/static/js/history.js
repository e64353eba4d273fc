// The inspector's own scans: this phone's (with their positions, sent or waiting) and,
// when online, those the server has from other devices; filtered by verdict and day, the
// day's positions on a small map (Leaflet, loaded when first needed).

import * as api from "./api.js";
import * as store from "./store.js";
import { day, shortCode, t, territory, time, verdictOf } from "./words.js";

const config = document.body.dataset;
const COLOURS = { authentic: "#15803d", diverted: "#b91c1c", unknown_code: "#7c2d12",
  suspected_clone: "#6d28d9", recalled: "#c2410c", pending: "#6b7280", refused: "#374151" };
let leaflet = null;
let map = null;
let layer = null;
let serverScans = [];

function loadLeaflet() {
  if (!leaflet) {
    leaflet = new Promise((resolve, reject) => {
      const css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = config.leafletCss;
      document.head.append(css);
      const script = document.createElement("script");
      script.src = config.leafletJs;
      script.onload = () => resolve(window.L);
      script.onerror = () => reject(new Error("map unavailable"));
      document.head.append(script);
    });
  }
  return leaflet;
}

/** Ask the server for the inspector's scans (other devices too); quietly skipped offline. */
export async function refreshFromServer(bearer) {
  if (!bearer) return;
  try {
    serverScans = (await api.myScans(bearer)).items;
  } catch (_) { /* offline or signed out: this phone's scans only */ }
}

async function rows() {
  const local = await store.all("scans");
  const known = new Set(local.filter((s) => s.answer).map((s) => s.answer.scan_id));
  const others = serverScans.filter((s) => !known.has(s.scan_id)).map((answer) => ({
    client_scan_id: `server-${answer.scan_id}`, code: answer.serial, status: "sent", answer,
    scanned_at: answer.scanned_at, day: day(answer.scanned_at), latitude: null, longitude: null,
  }));
  return [...local, ...others].sort((a, b) => (a.scanned_at < b.scanned_at ? 1 : -1));
}

function row(scan) {
  const verdict = verdictOf(scan);
  const item = document.createElement("li");
  item.dataset.scanStatus = scan.status === "pending" ? "pending" : "sent";
  item.dataset.result = verdict; // not data-verdict: that names the verdict on screen
  item.dataset.clientScanId = scan.client_scan_id;
  const status = scan.status === "pending" ? t("status_pending")
    : scan.status === "refused" ? t("status_refused") : t("status_sent");
  const where = scan.answer ? territory(scan.answer.found_territory) : "";
  const label = verdict === "pending" ? t("verdict_pending") : t(`verdict_${verdict}`);
  item.innerHTML = `<span class="dot"></span><span class="when"></span><span class="what"></span>`
    + `<span class="verdict-word"></span><span class="where"></span><span class="state"></span>`;
  item.querySelector(".dot").style.background = COLOURS[verdict] || "#6b7280";
  item.querySelector(".when").textContent = time(scan.scanned_at);
  item.querySelector(".what").textContent = (scan.answer && scan.answer.serial) || shortCode(scan.code);
  item.querySelector(".verdict-word").textContent = label;
  item.querySelector(".where").textContent = where;
  item.querySelector(".state").textContent = status;
  return item;
}

async function drawMap(scans) {
  const placed = scans.filter((s) => Number.isFinite(s.latitude) && Number.isFinite(s.longitude));
  const note = document.getElementById("map-note");
  const element = document.getElementById("map");
  note.hidden = placed.length > 0;
  note.textContent = t("no_positions");
  element.hidden = placed.length === 0;
  if (!placed.length) return;
  let L;
  try {
    L = await loadLeaflet();
  } catch (_) {
    element.hidden = true;
    return;
  }
  if (!map) {
    map = L.map(element, { attributionControl: Boolean(config.tiles) });
    if (config.tiles) L.tileLayer(config.tiles, { maxZoom: 18 }).addTo(map);
  }
  if (layer) layer.remove();
  layer = L.featureGroup(placed.map((s) => L.circleMarker([s.latitude, s.longitude], {
    radius: 8, color: "#111827", weight: 1, fillOpacity: 0.9,
    fillColor: COLOURS[verdictOf(s)] || "#6b7280",
  }).bindTooltip(`${time(s.scanned_at)} · ${t(`verdict_${verdictOf(s)}`)}`))).addTo(map);
  map.invalidateSize();
  map.fitBounds(layer.getBounds().pad(0.3), { maxZoom: 14 });
}

export async function render() {
  const form = document.getElementById("filters");
  if (!form.day.value) form.day.value = day(Date.now());
  const wanted = form.verdict.value;
  const onDay = (await rows()).filter((s) => s.day === form.day.value);
  const shown = onDay.filter((s) => !wanted || verdictOf(s) === wanted);
  const list = document.getElementById("scan-list");
  list.replaceChildren(...shown.map(row));
  if (!shown.length) {
    const empty = document.createElement("li");
    empty.className = "empty";
    empty.textContent = t("no_scans");
    list.append(empty);
  }
  await drawMap(shown);
}

document.getElementById("filters").addEventListener("change", () => render());
