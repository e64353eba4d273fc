// The page's words (rendered into the shell in the inspector's language) and the names
// of territories and parties (codes until the names are known).

const phrases = JSON.parse(document.getElementById("phrases").textContent);
export const language = document.body.dataset.lang || "en";
const locale = language === "zh" ? "zh-CN" : "en";

export function t(key, values = {}) {
  const text = phrases[key] || key;
  return text.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
}

let names = { territories: {}, parties: {} };
export function useNames(loaded) {
  if (loaded && loaded.territories) names = loaded;
}

export function territory(code) {
  if (!code) return t("no_territory");
  const name = names.territories[code];
  return name && name !== code ? `${name} (${code})` : code;
}

export function party(id) {
  if (!id) return t("nobody");
  const name = names.parties[id];
  return name && name !== id ? `${name} (${id})` : id;
}

export const number = (value) => new Intl.NumberFormat(locale).format(Math.round(value));
export const time = (iso) =>
  new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));

/** The local calendar day of a moment, YYYY-MM-DD (the history's day filter). */
export function day(moment) {
  const d = new Date(moment);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** What to show of a code: its serial when it is a Digital Link URI (/21/SERIAL). */
export function shortCode(code) {
  const match = /\/21\/([^/?#]+)/.exec(code || "");
  return match ? decodeURIComponent(match[1]) : code;
}

/** The verdict word of a scan as the page shows it: the API's, or pending / refused. */
export function verdictOf(scan) {
  if (scan.status === "pending") return "pending";
  if (scan.status === "refused") return "refused";
  return scan.answer.verdict;
}
