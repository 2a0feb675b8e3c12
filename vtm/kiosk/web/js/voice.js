// Voice mode (`vtm serve --voice`): the microphone to the server, reply recordings to the speaker.
//
// Microphone: an AudioContext at 16 kHz (the browser resamples the device), an AudioWorklet
// (mic-worklet.js) hands over the samples, which leave as 16-bit little-endian PCM in binary
// WebSocket frames of 4096 samples (256 ms). Nothing is sent while `muted()` says so (the kiosk
// is speaking or answering): the kiosk must not hear itself.
// Speaker: reply recordings play one after another; the figure's mouth follows their loudness.

const RATE = 16000;
const CHUNK = 4096;

export class Microphone {
  constructor(sendBinary, muted) {
    this.sendBinary = sendBinary;
    this.muted = muted;
    this.context = null;
    this.stream = null;
    this.pending = [];
    this.pendingLength = 0;
  }

  get on() {
    return this.context !== null;
  }

  async start() {
    if (this.on) return;
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    this.context = new AudioContext({ sampleRate: RATE });
    await this.context.audioWorklet.addModule("/kiosk/static/js/mic-worklet.js");
    const source = this.context.createMediaStreamSource(this.stream);
    const node = new AudioWorkletNode(this.context, "kiosk-mic");
    node.port.onmessage = (event) => this.take(event.data);
    source.connect(node);
  }

  stop() {
    if (!this.on) return;
    this.stream.getTracks().forEach((track) => track.stop());
    this.context.close();
    this.context = null;
    this.pending = [];
    this.pendingLength = 0;
  }

  take(samples) {
    if (this.muted()) {
      this.pending = [];
      this.pendingLength = 0;
      return;
    }
    this.pending.push(samples);
    this.pendingLength += samples.length;
    if (this.pendingLength < CHUNK) return;
    const pcm = new Int16Array(this.pendingLength);
    let offset = 0;
    for (const block of this.pending) {
      for (let i = 0; i < block.length; i += 1) {
        const s = Math.max(-1, Math.min(1, block[i]));
        pcm[offset + i] = s < 0 ? s * 0x8000 : s * 0x7fff;
      }
      offset += block.length;
    }
    this.pending = [];
    this.pendingLength = 0;
    this.sendBinary(pcm.buffer);  // Int16Array is little-endian on every platform a kiosk runs
  }
}

export class Speaker {
  constructor(onLevel, onIdle) {
    this.onLevel = onLevel;  // 0..1 loudness, about 60 times a second while playing
    this.onIdle = onIdle;
    this.queue = [];
    this.playing = false;
    this.context = null;
  }

  get busy() {
    return this.playing || this.queue.length > 0;
  }

  enqueue(url) {
    this.queue.push(url);
    if (!this.playing) this.next();
  }

  clear() {
    this.queue = [];
  }

  next() {
    const url = this.queue.shift();
    if (!url) {
      this.playing = false;
      this.onLevel(0);
      this.onIdle();
      return;
    }
    this.playing = true;
    this.context = this.context || new AudioContext();
    const audio = new Audio(url);
    const source = this.context.createMediaElementSource(audio);
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    analyser.connect(this.context.destination);
    const data = new Float32Array(analyser.fftSize);
    const tick = () => {
      if (audio.ended || audio.paused) return;
      analyser.getFloatTimeDomainData(data);
      let sum = 0;
      for (const v of data) sum += v * v;
      this.onLevel(Math.min(1, Math.sqrt(sum / data.length) * 6));
      requestAnimationFrame(tick);
    };
    audio.addEventListener("playing", () => requestAnimationFrame(tick));
    audio.addEventListener("ended", () => this.next());
    audio.addEventListener("error", () => this.next());  // the text is on screen; go on with the next reply
    audio.play().catch(() => this.next());
  }
}
