// The on-screen figure: idle, waiting / listening, thinking and speaking (CSS animations keyed on data-state).
// Text-only replies: the mouth moves for the reply's `speak_ms` (proportional to its length,
// computed by the server); replies queue one after another.

export class Figure {
  constructor(svg, status, texts) {
    this.svg = svg;
    this.status = status;
    this.texts = texts;
    this.speakingUntil = 0;
    this.timer = null;
    this.rest = "idle";
  }

  set(state) {
    this.svg.dataset.state = state;
    this.status.textContent = this.texts()[`figure_${state}`] || "";
  }

  // After speaking, the figure returns to `rest` (listening while a session runs, idle otherwise).
  settle(rest) {
    this.rest = rest;
    if (performance.now() >= this.speakingUntil) this.set(rest);
  }

  think() {
    if (performance.now() >= this.speakingUntil) this.set("thinking");
  }

  speak(ms) {
    const now = performance.now();
    this.speakingUntil = Math.max(now, this.speakingUntil) + ms;
    this.set("speaking");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.set(this.rest), this.speakingUntil - now);
  }

  // Voice mode: speaking while a recording plays (its loudness moves the mouth, see voice.js).
  audio(playing) {
    this.svg.dataset.audio = String(playing);
    if (playing) {
      clearTimeout(this.timer);
      this.speakingUntil = Number.POSITIVE_INFINITY;
      this.set("speaking");
    } else {
      this.speakingUntil = 0;
      this.set(this.rest);
    }
  }

  stop() {
    this.speakingUntil = 0;
    clearTimeout(this.timer);
    this.set(this.rest);
  }
}
