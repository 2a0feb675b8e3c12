// The kiosk's WebSocket: typed JSON messages (docs/kiosk.md), reconnecting with back-off.
// The session lives on the server per kiosk id, so a reconnect resumes it: the server answers
// with `hello` (resumed: true), the captions so far and the current screen.

export class KioskSocket {
  constructor(kioskId, onMessage, onStatus) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/${encodeURIComponent(kioskId)}`;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.delay = 500;
    this.queue = [];
    this.ws = null;
    this.closedByServer = false;
  }

  open() {
    this.onStatus("connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.delay = 500;
      this.onStatus("online");
      for (const message of this.queue.splice(0)) ws.send(JSON.stringify(message));
    });
    ws.addEventListener("message", (event) => this.onMessage(JSON.parse(event.data)));
    ws.addEventListener("close", (event) => {
      if (event.code >= 4400 && event.code < 4500) {  // unknown kiosk, foreign origin: retrying cannot help
        this.closedByServer = true;
        this.onStatus("refused");
        return;
      }
      this.onStatus("offline");
      setTimeout(() => this.open(), this.delay);
      this.delay = Math.min(this.delay * 2, 8000);
    });
  }

  // Microphone audio: dropped, not queued, while the connection is down (stale speech is no answer).
  sendBinary(buffer) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(buffer);
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
    else if (!this.closedByServer) this.queue.push(message);
  }
}
