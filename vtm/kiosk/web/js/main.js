// The kiosk screen: draws what the server says (docs/kiosk.md) and sends what the customer does.
// The server decides everything (choices, keypad, read-back, device prompts); this page never
// infers a dialog state on its own, except to hide the keypad whenever a PIN is asked for.

import { Figure } from "./figure.js";
import { Keypad } from "./keypad.js";
import { KioskSocket } from "./socket.js";
import { DevicePanel } from "./devpanel.js";
import { Microphone, Speaker } from "./voice.js";

const $ = (id) => document.getElementById(id);
const app = $("app");
const params = new URLSearchParams(location.search);
const kioskId = params.get("kiosk") || "VTM-0001";

const locales = {};
let lang = "zh";
let resetTimer = null;
let replaying = false;  // a resumed session's history is redrawn without the figure speaking it again
let voiceMode = false;  // `vtm serve --voice`: the server listens to the microphone and sends reply audio
const texts = () => locales[lang] || {};

async function loadLocale(code) {
  if (!locales[code]) {
    const response = await fetch(`/kiosk/locale/${code}`);
    locales[code] = await response.json();
  }
}

async function setLanguage(code) {
  await loadLocale(code);
  lang = code;
  document.documentElement.lang = code === "zh" ? "zh-CN" : "en";
  const t = texts();
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t[el.dataset.i18n] || ""; });
  document.querySelectorAll("[data-i18n-attr]").forEach((el) => {
    const [attr, key] = el.dataset.i18nAttr.split(":");
    el.setAttribute(attr, t[key] || "");
  });
  $("lang-btn").textContent = t.switch_to;
  const status = $("connection").dataset.status;
  if (status) $("connection").textContent = t[`connection_${status}`] || status;
  document.title = t.brand;
  figure.set(figure.svg.dataset.state);
}

const figure = new Figure($("figure"), $("figure-status"), texts);
// Messages are drawn strictly in order, even when one waits (a locale file being fetched).
let drawing = Promise.resolve();
const socket = new KioskSocket(kioskId, (message) => {
  drawing = drawing.then(() => handle(message)).catch((error) => console.error("draw failed", message.type, error));
}, (status) => {
  $("connection").textContent = texts()[`connection_${status}`] || status;
  $("connection").dataset.status = status;
});
const keypad = new Keypad($("keypad"), texts, (text) => say(text));
const devices = new DevicePanel($("devpanel"), (command) => send({ type: "device", command }));
const speaker = new Speaker((level) => $("figure").style.setProperty("--mouth", level.toFixed(3)),
  () => figure.audio(false),
  (playing, interruptible) => { if (voiceMode) socket.send({ type: "speaker", playing, interruptible }); });
// Muted while a turn is answered and while a reply that must be heard plays; an interruptible
// reply may be talked over (the server decides what is a barge-in).
const microphone = new Microphone((pcm) => socket.sendBinary(pcm),
  () => (speaker.busy && !speaker.interruptible) || app.dataset.busy === "true" || app.dataset.screen !== "session");

function send(message) {
  figure.think();
  app.dataset.busy = "true";
  socket.send(message);
}

function say(text) {
  send({ type: "say", text });
}

function caption(who, text) {
  const item = document.createElement("li");
  item.className = `caption caption-${who}`;
  item.dataset.testid = who === "kiosk" ? "kiosk-caption" : "customer-caption";
  const whoEl = document.createElement("span");
  whoEl.className = "caption-who";
  whoEl.textContent = who === "kiosk" ? texts().who_kiosk : texts().who_customer;
  const textEl = document.createElement("span");
  textEl.className = "caption-text";
  textEl.textContent = text;
  item.append(whoEl, textEl);
  const list = $("captions");
  list.append(item);
  while (list.children.length > 40) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

// Elderly mode scales the root font size (every size is in rem), so the class goes on <html> too.
function setElderly(on) {
  app.classList.toggle("elderly", on);
  document.documentElement.classList.toggle("elderly", on);
  $("elderly-btn").setAttribute("aria-pressed", String(on));
}

function showScreen(screen) {
  app.dataset.screen = screen;
  $("idle").hidden = screen !== "idle";
  $("ended").hidden = screen !== "ended";
}

const DEVICE_PICTURES = {
  card: "#pic-card", take_card: "#pic-card", pin: "#pic-pinpad", pin_again: "#pic-pinpad",
  id_card: "#pic-id", face: "#pic-face", take_receipt: "#pic-receipt",
};

function renderChoices(message) {
  const box = $("choices");
  box.replaceChildren();
  box.dataset.topic = message.topic || "";
  for (const option of message.options) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-choice";
    button.textContent = option.label;
    button.dataset.value = option.value;
    button.dataset.testid = `choice-${option.value}`;
    button.addEventListener("click", () => say(option.say));
    box.append(button);
  }
}

async function handle(message) {
  switch (message.type) {
    case "hello":
      clearTimeout(resetTimer);
      await setLanguage(message.lang);
      setElderly(message.elderly);
      $("kiosk-id").textContent = message.kiosk_id;
      $("session-id").textContent = message.session_id || "";
      devices.configure(message.developer, message.demo_cards);
      $("mic-btn").hidden = !message.voice;
      voiceMode = message.voice;
      if (!message.session_id) {
        $("captions").replaceChildren();
        renderChoices({ topic: null, options: [] });
        keypad.show(null);
        $("read-back").hidden = true;
        $("device-prompt").hidden = true;
        figure.settle("idle");
        showScreen("idle");
      } else {
        if (message.resumed) $("captions").replaceChildren();
        replaying = message.resumed;
        showScreen("session");
      }
      app.dataset.busy = "false";
      break;
    case "caption":
      caption("customer", message.text);
      break;
    case "reply":
      caption("kiosk", message.text);
      if (replaying) break;
      if (message.audio_url) {
        figure.audio(true);
        speaker.enqueue(message.audio_url, message.interruptible);
      } else {
        figure.speak(message.speak_ms);
      }
      break;
    case "state":
      if (message.lang !== lang) await setLanguage(message.lang);
      setElderly(message.elderly);
      app.dataset.state = message.state;
      app.dataset.busy = "false";
      replaying = false;
      figure.settle(message.state === "ended" ? "idle" : (microphone.on ? "listening" : "waiting"));
      break;
    case "device_prompt": {
      const box = $("device-prompt");
      box.hidden = message.device === null;
      box.dataset.device = message.device || "";
      if (message.device) {
        $("device-pic").setAttribute("href", DEVICE_PICTURES[message.device]);
        $("device-text").textContent = texts()[`device_${message.device}`] || "";
      }
      if (message.device === "pin" || message.device === "pin_again") keypad.show(null);
      break;
    }
    case "choices":
      renderChoices(message);
      break;
    case "keypad":
      keypad.show($("device-prompt").dataset.device?.startsWith("pin") ? null : message.kind);
      break;
    case "read_back": {  // the last message of every turn's screen
      requestAnimationFrame(() => { $("captions").scrollTop = $("captions").scrollHeight; });
      const box = $("read-back");
      box.hidden = message.kind === null;
      box.dataset.kind = message.kind || "";
      if (message.kind) {
        $("read-back-title").textContent = texts()[`read_back_${message.kind}`] || "";
        $("read-back-text").textContent = message.text || "";
        $("read-back-text").hidden = !message.text;
      }
      break;
    }
    case "session_ended":
      $("ended-text").textContent = texts()[`ended_${message.outcome}`] || "";
      showScreen("ended");
      resetTimer = setTimeout(() => socket.send({ type: "reset" }), message.reset_after_s * 1000);
      break;
    case "barge_in":  // the customer talked over the reply: stop it, listen
      speaker.stop();
      figure.settle("listening");
      break;
    case "error":
      app.dataset.busy = "false";
      figure.settle("listening");
      if (message.code === "device") devices.error(message.message);
      else caption("system", message.message);
      break;
    default:
      console.warn("unknown message", message.type);
  }
}

// Customer controls -------------------------------------------------------------------------
document.querySelectorAll("[data-start]").forEach((button) =>
  button.addEventListener("click", () => send({ type: "start", lang: button.dataset.start })));
$("ended-ok").addEventListener("click", () => { clearTimeout(resetTimer); socket.send({ type: "reset" }); });
$("lang-btn").addEventListener("click", () => send({ type: "language", lang: lang === "zh" ? "en" : "zh" }));
$("elderly-btn").addEventListener("click", () =>
  send({ type: "elderly", on: $("elderly-btn").getAttribute("aria-pressed") !== "true" }));
$("person-btn").addEventListener("click", () => send({ type: "call_person" }));
$("mic-btn").addEventListener("click", async () => {
  if (microphone.on) microphone.stop();
  else await microphone.start().catch((error) => caption("system", `${texts().mic_failed} (${error.name})`));
  $("mic-btn").setAttribute("aria-pressed", String(microphone.on));
  figure.settle(app.dataset.screen === "session" ? (microphone.on ? "listening" : "waiting") : "idle");
});
$("confirm-btn").addEventListener("click", () => send({ type: "button", button: "confirm" }));
$("cancel-btn").addEventListener("click", () => send({ type: "button", button: "cancel" }));
$("type-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("type-input");
  const text = input.value.trim();
  if (text) say(text);
  input.value = "";
});

await setLanguage("zh");
socket.open();
window.kioskScreen = { socket, figure, microphone, speaker };  // for the browser tests (reconnect) and the developer console
