// What the app keeps on the phone, in IndexedDB: its scans (sent or waiting), the evidence
// waiting to go with them, and a few settings (the API token, the device id, names).

const NAME = "tracker-scanner";
const VERSION = 1;
let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(NAME, VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        // One row per scan, by the id the phone gave it (the API's client_scan_id).
        db.createObjectStore("scans", { keyPath: "client_scan_id" });
        // A scan's note and photo, until they are sent.
        db.createObjectStore("evidence", { keyPath: "client_scan_id" });
        db.createObjectStore("meta");
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opening;
}

async function run(storeName, mode, action) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(storeName, mode);
    const request = action(transaction.objectStore(storeName));
    transaction.oncomplete = () => resolve(request ? request.result : undefined);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

export const get = (store, key) => run(store, "readonly", (s) => s.get(key));
export const all = (store) => run(store, "readonly", (s) => s.getAll());
export const put = (store, value, key) =>
  run(store, "readwrite", (s) => (key === undefined ? s.put(value) : s.put(value, key)));
export const remove = (store, key) => run(store, "readwrite", (s) => s.delete(key));

export const setting = (key) => get("meta", key);
export const remember = (key, value) => put("meta", value, key);
export const forget = (key) => remove("meta", key);

/** This phone's id (sent as device_id with each scan), made once. */
export async function deviceId() {
  let id = await setting("device_id");
  if (!id) {
    id = crypto.randomUUID();
    await remember("device_id", id);
  }
  return id;
}
