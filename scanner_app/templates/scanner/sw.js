// The scanner's service worker (served by scanner_app.service_worker at /scan/sw.js, scope
// /scan): keeps the app shell, its scripts and styles, icons and the QR decoder's WASM in a
// cache named for this release, so the app opens with no network. API calls are never
// answered from the cache: scans wait in IndexedDB instead.
const VERSION = {{ version|tojson }};
const CACHE = `scanner-${VERSION}`;
const SHELL = {{ shell|tojson }};
const MANIFEST = {{ manifest|tojson }};
const ASSETS = {{ assets|tojson }};
const KEPT = new Set([MANIFEST, ...ASSETS]);

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // "reload": past the HTTP cache, so a new release never keeps an old file.
    await cache.addAll([SHELL, MANIFEST, ...ASSETS].map((url) => new Request(url, { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("scanner-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// The shell from the cache at once; a fresh copy fetched meanwhile for the next opening
// (a new language choice, a new release's page).
async function shell(event) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(SHELL);
  const fresh = fetch(event.request).then((response) => {
    if (response.ok && !response.redirected) cache.put(SHELL, response.clone());
    return response;
  });
  if (cached) {
    event.waitUntil(fresh.catch(() => undefined));
    return cached;
  }
  return fresh;
}

async function asset(request, path) {
  const cache = await caches.open(CACHE);
  return (await cache.match(path)) || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === SHELL) {
    event.respondWith(shell(event));
  } else if (KEPT.has(url.pathname)) {
    event.respondWith(asset(request, url.pathname));
  }
});
