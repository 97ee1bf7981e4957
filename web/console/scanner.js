// QR codes from the camera: the browser's BarcodeDetector where it has one, jsQR otherwise.
// jsQR (npm, copied into vendor/ by `make web`) is loaded only when the camera is first used.

const JSQR_URL = "/console/vendor/jsQR.js";
const SAME_CODE_PAUSE_MS = 3000;
const FRAME_INTERVAL_MS = 150;

let jsqrLoading = null;
function loadJsQr() {
  if (window.jsQR) return Promise.resolve(window.jsQR);
  if (!jsqrLoading) {
    jsqrLoading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = JSQR_URL;
      script.async = true;
      script.addEventListener("load", () => (window.jsQR ? resolve(window.jsQR) : reject(new Error("jsQR missing"))));
      script.addEventListener("error", () => reject(new Error("jsQR missing")));
      document.head.append(script);
    }).catch((error) => {
      jsqrLoading = null;
      throw error;
    });
  }
  return jsqrLoading;
}

function named(name) {
  const error = new Error(name);
  error.name = name;
  return error;
}

async function makeDecoder() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async (video) => {
          const found = await detector.detect(video);
          return found.length ? found[0].rawValue : null;
        };
      }
    } catch {
      /* fall back to jsQR */
    }
  }
  let jsQR;
  try {
    jsQR = await loadJsQr();
  } catch {
    throw named("NoDecoder");
  }
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async (video) => {
    const width = video.videoWidth;
    const height = video.videoHeight;
    if (!width || !height) return null;
    // Large frames cost time on a phone; the code stays readable at 640 px.
    const scale = Math.min(1, 640 / Math.max(width, height));
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    const found = jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" });
    return found ? found.data : null;
  };
}

export class QrScanner {
  constructor(video, onCode) {
    this.video = video;
    this.onCode = onCode;
    this.stream = null;
    this.timer = null;
    this.last = { value: null, at: 0 };
    this.handling = false;
  }

  async start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw named("NoCamera");
    const decode = await makeDecoder();
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 } }, audio: false,
    });
    this.video.srcObject = this.stream;
    await this.video.play();
    const tick = async () => {
      if (!this.stream) return;
      if (!this.handling && this.video.readyState >= 2) {
        try {
          const value = await decode(this.video);
          const now = Date.now();
          // A ticket held in front of the camera is checked in once, not at every frame:
          // the same code is ignored until it has been out of view for a while.
          const repeat = value && value === this.last.value && now - this.last.at <= SAME_CODE_PAUSE_MS;
          if (value) this.last = { value, at: now };
          if (value && !repeat) {
            this.handling = true;
            try {
              await this.onCode(value);
            } finally {
              this.handling = false;
              this.last.at = Date.now();
            }
          }
        } catch {
          /* a frame that cannot be read is skipped */
        }
      }
      if (this.stream) this.timer = setTimeout(tick, FRAME_INTERVAL_MS);
    };
    tick();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
  }
}
