// The camera and the QR reader: the browser's own BarcodeDetector where it reads QR
// codes, else the barcode-detector ponyfill (ZXing compiled to WebAssembly), loaded only
// then and pointed at our copy of the WASM (its default is a CDN).

const config = document.body.dataset;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

async function nativeDetector() {
  if (!("BarcodeDetector" in window)) return null;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code") ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
  } catch (_) {
    return null;
  }
}

/** A detector with detect(source) -> [{rawValue}], ready to read (WASM compiled). */
export async function makeDetector() {
  const native = await nativeDetector();
  if (native) return { detector: native, kind: "native" };
  await loadScript(config.ponyfill);
  const { BarcodeDetector, prepareZXingModule } = window.BarcodeDetectionAPI;
  prepareZXingModule({
    overrides: {
      locateFile: (path, prefix) => (path.endsWith(".wasm") ? config.wasm : prefix + path),
    },
  });
  const detector = new BarcodeDetector({ formats: ["qr_code"] });
  await detector.detect(new ImageData(1, 1)); // waits for the WASM; throws if it fails
  return { detector, kind: "zxing-wasm" };
}

export async function startCamera(video) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("no camera API in this browser");
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
  });
  video.srcObject = stream;
  await video.play();
  const track = stream.getVideoTracks()[0];
  const capabilities = track.getCapabilities ? track.getCapabilities() : {};
  return { stream, track, torch: Boolean(capabilities.torch) };
}

export function stopCamera(camera) {
  if (camera) camera.stream.getTracks().forEach((track) => track.stop());
}

export function setTorch(camera, on) {
  return camera.track.applyConstraints({ advanced: [{ torch: on }] });
}

/**
 * Read codes from the video continuously; onCode(text) for each read while active()
 * says so. One detection in flight at a time, about ten a second.
 */
export function readContinuously(video, detector, active, onCode) {
  let stopped = false;
  const next = () => {
    if (stopped) return;
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(() => setTimeout(tick, 60));
    else setTimeout(tick, 100);
  };
  const tick = async () => {
    if (stopped) return;
    if (active() && video.readyState >= 2 && video.videoWidth > 0) {
      try {
        const found = await detector.detect(video);
        if (found.length && active()) {
          performance.mark("scanner:qr-read");
          onCode(found[0].rawValue);
        }
      } catch (_) { /* a frame that could not be read: try the next */ }
    }
    next();
  };
  next();
  return () => { stopped = true; };
}
