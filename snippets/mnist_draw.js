// Draw a digit: the page docs/mnist_draw.md runs Chollet's convnet on the reader's drawing.
// The site build copies this file to draw/mnist_draw.js, next to the model (model.onnx),
// a few MNIST test digits (digits.json) and onnxruntime-web's files (ort.*).
// preprocess() does what preprocess() in snippets/mnist_draw.py does; tests/test_mnist_draw.py
// checks that both give the same 28x28 array for the same drawing.

// --8<-- [start:preprocess]
// (nOut rows of nIn weights) resizing a line of nIn pixels to nOut by area averaging.
function overlapMatrix(nIn, nOut) {
  const scale = nIn / nOut;
  const weights = [];
  for (let i = 0; i < nOut; i++) {
    const row = new Float64Array(nIn);
    const start = i * scale;
    const end = (i + 1) * scale;
    for (let k = Math.floor(start); k < Math.min(nIn, Math.ceil(end)); k++) {
      row[k] = (Math.min(end, k + 1) - Math.max(start, k)) / scale;
    }
    weights.push(row);
  }
  return weights;
}

// A drawing (width x height numbers, row after row, 0 = paper, 1 = full ink) -> the
// size x size image MNIST's networks expect: crop to the ink, scale the longer side to
// box pixels (anti-aliased), put the centre of mass on the middle pixel. null if no ink.
function preprocess(ink, width, height, box = 20, size = 28) {
  let top = height, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] > 0) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
  }
  if (bottom < 0) return null;
  const h = bottom - top + 1;
  const w = right - left + 1;
  const longest = Math.max(h, w);
  const outH = Math.max(1, Math.floor((h * box) / longest + 0.5));
  const outW = Math.max(1, Math.floor((w * box) / longest + 0.5));
  const rowWeights = overlapMatrix(h, outH);
  const colWeights = overlapMatrix(w, outW);
  const rows = new Float64Array(outH * w); // rowWeights @ crop
  for (let i = 0; i < outH; i++) {
    for (let k = 0; k < h; k++) {
      const weight = rowWeights[i][k];
      if (weight === 0) continue;
      for (let x = 0; x < w; x++) rows[i * w + x] += weight * ink[(top + k) * width + left + x];
    }
  }
  const digit = new Float64Array(outH * outW); // (rowWeights @ crop) @ colWeights^T
  for (let i = 0; i < outH; i++) {
    for (let j = 0; j < outW; j++) {
      let sum = 0;
      for (let x = 0; x < w; x++) sum += rows[i * w + x] * colWeights[j][x];
      digit[i * outW + j] = sum;
    }
  }
  let mass = 0, rowMoment = 0, colMoment = 0;
  for (let i = 0; i < outH; i++) {
    for (let j = 0; j < outW; j++) {
      const value = digit[i * outW + j];
      mass += value;
      rowMoment += i * value;
      colMoment += j * value;
    }
  }
  const middle = Math.floor(size / 2);
  const clamp = (value, high) => Math.min(Math.max(value, 0), high);
  const offsetRow = clamp(Math.floor(middle - rowMoment / mass + 0.5), size - outH);
  const offsetCol = clamp(Math.floor(middle - colMoment / mass + 0.5), size - outW);
  const image = new Float64Array(size * size);
  for (let i = 0; i < outH; i++) {
    for (let j = 0; j < outW; j++) image[(offsetRow + i) * size + offsetCol + j] = digit[i * outW + j];
  }
  return image;
}
// --8<-- [end:preprocess]

(function () {
  "use strict";
  const root = document.getElementById("draw-digit");
  if (!root) return;
  const here = new URL(".", document.currentScript.src).href; // the folder this file was served from
  const pad = document.getElementById("draw-pad");
  const seen = document.getElementById("draw-seen");
  const maps = document.getElementById("draw-maps");
  const status = document.getElementById("draw-status");
  const picker = document.getElementById("draw-pick");
  const bars = Array.from(root.querySelectorAll(".draw-bar"));
  const context = pad.getContext("2d", { willReadFrequently: true });
  const PEN = 24; // pixels of the 280x280 pad
  let picked = null; // a test digit's 784 pixels, when one was picked instead of drawn
  let last = null; // where the pen is, while it touches the pad
  let queue = Promise.resolve();
  const hook = { predictions: 0, last: null, preprocess, inkOf }; // for the tests
  window.mnistDraw = hook;

  // --8<-- [start:session]
  // onnxruntime-web runs the exported model; it is loaded the first time it is needed.
  let session = null;
  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`could not load ${src}`));
      document.head.appendChild(script);
    });
  }
  function network() {
    if (!session) {
      session = loadScript(here + "ort.wasm.min.js").then(() => {
        ort.env.wasm.wasmPaths = here; // the runtime's WebAssembly comes from this site too
        ort.env.wasm.numThreads = 1; // threads need cross-origin isolation, which a static site lacks
        ort.env.logLevel = "error"; // warnings about this machine's processor are not the reader's business
        return ort.InferenceSession.create(here + "model.onnx", { executionProviders: ["wasm"] });
      });
      session.catch(() => (session = null)); // a failed load is tried again next time
    }
    return session;
  }
  async function run(input) {
    const model = await network();
    const feeds = { [model.inputNames[0]]: new ort.Tensor("float32", Float32Array.from(input), [1, 784]) };
    const outputs = await model.run(feeds);
    const [first, second] = model.outputNames.map((name) => outputs[name]);
    // Two outputs: the first convolution's feature maps (1, 26, 26, 32) and the 10 probabilities.
    return first.dims.length === 2 ? { probabilities: first, maps: second } : { probabilities: second, maps: first };
  }
  // --8<-- [end:session]

  function say(text) {
    status.textContent = text;
  }

  function inkColour() {
    return getComputedStyle(root).getPropertyValue("--draw-ink").trim() || "#000";
  }

  function inkOf() {
    const pixels = context.getImageData(0, 0, pad.width, pad.height).data;
    const ink = new Float64Array(pad.width * pad.height);
    for (let i = 0; i < ink.length; i++) ink[i] = pixels[4 * i + 3] / 255; // the alpha channel: how much ink
    return ink;
  }

  function point(event) {
    const box = pad.getBoundingClientRect();
    return [((event.clientX - box.left) * pad.width) / box.width, ((event.clientY - box.top) * pad.height) / box.height];
  }

  function stroke(from, to) {
    context.strokeStyle = context.fillStyle = inkColour();
    context.lineWidth = PEN;
    context.lineCap = context.lineJoin = "round";
    context.beginPath();
    context.moveTo(from[0], from[1]);
    context.lineTo(to[0], to[1]);
    context.stroke();
  }

  function clearPad() {
    context.clearRect(0, 0, pad.width, pad.height);
    picked = null;
  }

  function clearAll() {
    clearPad();
    picker.value = "";
    showInput(null);
    showResult(null);
    say("The pad is clear: draw a digit, or pick a test digit.");
  }

  function paintDigit(pixels) {
    // A test digit on the pad, 10 pad pixels per image pixel, in the ink colour.
    const small = document.createElement("canvas");
    small.width = small.height = 28;
    const smallContext = small.getContext("2d");
    const image = smallContext.createImageData(28, 28);
    const [r, g, b] = colourBytes(inkColour());
    for (let i = 0; i < 784; i++) image.data.set([r, g, b, Math.round(pixels[i] * 255)], 4 * i);
    smallContext.putImageData(image, 0, 0);
    clearPad();
    context.imageSmoothingEnabled = false;
    context.drawImage(small, 0, 0, pad.width, pad.height);
  }

  function colourBytes(colour) {
    const probe = document.createElement("canvas").getContext("2d");
    probe.fillStyle = colour;
    probe.fillRect(0, 0, 1, 1);
    return Array.from(probe.getImageData(0, 0, 1, 1).data.slice(0, 3));
  }

  function showInput(input) {
    const canvas = seen.getContext("2d");
    const image = canvas.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const value = input ? Math.round(input[i] * 255) : 0;
      image.data.set([value, value, value, 255], 4 * i); // white on black, as MNIST stores digits
    }
    canvas.putImageData(image, 0, 0);
  }

  const MAGMA = [
    [0, 0, 4],
    [81, 18, 124],
    [183, 55, 121],
    [252, 137, 97],
    [252, 253, 191],
  ];
  function magma(t) {
    const x = Math.min(Math.max(t, 0), 1) * (MAGMA.length - 1);
    const k = Math.min(Math.floor(x), MAGMA.length - 2);
    return MAGMA[k].map((c, n) => Math.round(c + (x - k) * (MAGMA[k + 1][n] - c)));
  }

  function showMaps(tensor) {
    // 32 maps of 26x26 in 4 rows of 8, 2 pixels apart, on one colour scale for all.
    const canvas = maps.getContext("2d");
    canvas.clearRect(0, 0, maps.width, maps.height);
    if (!tensor) return;
    const [, height, width, count] = tensor.dims;
    const data = tensor.data;
    let top = 0;
    for (const value of data) top = Math.max(top, value);
    for (let m = 0; m < count; m++) {
      const image = canvas.createImageData(width, height);
      for (let i = 0; i < height * width; i++) {
        image.data.set([...magma(top > 0 ? data[i * count + m] / top : 0), 255], 4 * i);
      }
      canvas.putImageData(image, (m % 8) * (width + 2), Math.floor(m / 8) * (height + 2));
    }
  }

  function showResult(result) {
    const probabilities = result ? result.probabilities.data : null;
    let best = -1;
    if (probabilities) best = probabilities.indexOf(Math.max(...probabilities));
    bars.forEach((bar, digit) => {
      const p = probabilities ? probabilities[digit] : 0;
      bar.querySelector(".draw-bar__fill").style.width = `${(100 * p).toFixed(1)}%`;
      bar.querySelector(".draw-bar__value").textContent = probabilities ? `${(100 * p).toFixed(1)}%` : "";
      bar.classList.toggle("draw-bar--best", digit === best);
    });
    showMaps(result ? result.maps : null);
    return best;
  }

  function predict() {
    const input = picked || preprocess(inkOf(), pad.width, pad.height);
    if (!input) {
      showInput(null);
      showResult(null);
      say("Nothing to read yet: the pad is empty. Draw a digit first, or pick a test digit.");
      return queue;
    }
    showInput(input);
    if (!session) say("Loading the network…");
    queue = queue
      .then(() => run(input))
      .then((result) => {
        const best = showResult(result);
        const p = result.probabilities.data[best];
        say(`The network reads a ${best} (${(100 * p).toFixed(1)}%).`);
        hook.last = { input: Array.from(input), probabilities: Array.from(result.probabilities.data) };
        hook.predictions += 1;
      })
      .catch((error) => say(`The network could not run here (${error.message}). Try reloading the page.`));
    return queue;
  }
  hook.predict = predict;

  pad.addEventListener("pointerdown", (event) => {
    network().catch(() => {}); // start loading while the reader draws
    if (picked) clearPad();
    pad.setPointerCapture(event.pointerId);
    last = point(event);
    stroke(last, last);
    event.preventDefault();
  });
  pad.addEventListener("pointermove", (event) => {
    if (!last) return;
    const next = point(event);
    stroke(last, next);
    last = next;
  });
  const lift = () => {
    if (!last) return;
    last = null;
    predict();
  };
  pad.addEventListener("pointerup", lift);
  pad.addEventListener("pointercancel", lift);
  document.getElementById("draw-predict").addEventListener("click", predict);
  document.getElementById("draw-clear").addEventListener("click", clearAll);

  // The keyboard's way in: pick one of a few MNIST test digits; it goes to the network as stored.
  let digits = [];
  fetch(here + "digits.json")
    .then((response) => response.json())
    .then((stored) => {
      digits = stored.digits;
      for (const [n, digit] of digits.entries()) {
        picker.add(new Option(`test image ${digit.index}: a ${digit.label}`, String(n)));
      }
      picker.disabled = false;
    })
    .catch(() => say("The test digits could not be loaded; drawing still works."));
  picker.addEventListener("focus", () => network().catch(() => {}));
  picker.addEventListener("change", () => {
    if (picker.value === "") return;
    const bytes = Uint8Array.from(atob(digits[Number(picker.value)].pixels), (c) => c.charCodeAt(0));
    const pixels = Array.from(bytes, (b) => b / 255);
    paintDigit(pixels);
    picked = pixels;
    predict();
  });
})();
