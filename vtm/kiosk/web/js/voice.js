// Voice mode (`vtm serve --voice`): the microphone to the server, reply recordings to the speaker.
//
// Microphone: an AudioContext at 16 kHz (the browser resamples the device), an AudioWorklet
// (mic-worklet.js) hands over the samples, which leave as 16-bit little-endian PCM in binary
// WebSocket frames of 4096 samples (256 ms). Nothing is sent while `muted()` says so (a turn is
// being answered, or a reply that must be heard is playing): the kiosk must not hear itself.
// While an interruptible reply plays the microphone keeps sending; the server listens for the
// customer talking over it (barge-in) and answers `barge_in`, on which the reply stops.
// Speaker: reply recordings play one after another; the figure's mouth follows their loudness;
// the server is told when a reply starts (and whether it may be interrupted) and when all ended.
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
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: false },
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
  constructor(onLevel, onIdle, onPlaying) {
    this.onLevel = onLevel;  // 0..1 loudness, about 60 times a second while playing
    this.onIdle = onIdle;
    this.onPlaying = onPlaying;  // (playing, interruptible): tells the server what the microphone hears
    this.queue = [];
    this.playing = false;
    this.interruptible = true;  // of the reply playing now
    this.audio = null;
    this.context = null;
  }

  get busy() {
    return this.playing || this.queue.length > 0;
  }

  enqueue(url, interruptible) {
    this.queue.push({ url, interruptible });
    if (!this.playing) this.next();
  }

  clear() {
    this.queue = [];
  }

  // Barge-in: the customer talked over the reply; it stops now and the rest queued is not read out.
  stop() {
    this.queue = [];
    if (this.audio) this.audio.pause();
    if (this.playing) this.next();
  }

  next() {
    const item = this.queue.shift();
    if (!item) {
      const was = this.playing;
      this.playing = false;
      this.audio = null;
      this.onLevel(0);
      if (was) this.onPlaying(false, true);
      this.onIdle();
      return;
    }
    if (!this.playing || this.interruptible !== item.interruptible) this.onPlaying(true, item.interruptible);
    this.playing = true;
    this.interruptible = item.interruptible;
    this.context = this.context || new AudioContext();
    const audio = new Audio(item.url);
    this.audio = audio;
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
    const done = () => { if (this.audio === audio) this.next(); };
    audio.addEventListener("playing", () => requestAnimationFrame(tick));
    audio.addEventListener("ended", done);
    audio.addEventListener("error", done);  // the text is on screen; go on with the next reply
    audio.play().catch(done);
  }
}
