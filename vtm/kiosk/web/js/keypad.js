// The on-screen keypad for amounts and account / card / ID numbers. What is keyed in is sent as
// the customer's utterance (the dialog reads it like speech). It is never shown for a PIN: the
// server sends `keypad: null` while a PIN is awaited, and the page also hides it on a PIN prompt.

const LIMITS = { amount: 12, account_number: 19, card_number: 19, id_number: 18 };

export class Keypad {
  constructor(root, texts, onSubmit) {
    this.root = root;
    this.texts = texts;
    this.onSubmit = onSubmit;
    this.kind = null;
    this.value = "";
    this.display = root.querySelector("#keypad-display");
    this.label = root.querySelector("#keypad-label");
    this.dot = root.querySelector("#key-dot");
    root.querySelectorAll(".key").forEach((key) => key.addEventListener("click", () => this.press(key.dataset.key)));
    root.querySelector("#keypad-clear").addEventListener("click", () => this.update(""));
    root.querySelector("#keypad-ok").addEventListener("click", () => this.submit());
    // A keyboard works too (accessibility, and a kiosk with a hardware keyboard): digits, Backspace, Enter.
    document.addEventListener("keydown", (event) => {
      if (this.kind === null || event.target instanceof HTMLInputElement) return;
      if (/^[0-9]$/.test(event.key) || (event.key === "." && this.kind === "amount")) this.press(event.key);
      else if (event.key.toUpperCase() === "X" && this.kind === "id_number") this.press("X");
      else if (event.key === "Backspace") this.press("back");
      else if (event.key === "Enter" && document.activeElement === document.body) this.submit();
      else return;
      event.preventDefault();
    });
  }

  show(kind) {
    if (kind === this.kind) return;
    this.kind = kind;
    this.root.hidden = kind === null;
    this.update("");
    if (kind === null) return;
    this.label.textContent = this.texts()[`keypad_${kind}`] || "";
    // An ID number may end in X; the keypad offers it in the dot's place.
    this.dot.textContent = kind === "id_number" ? "X" : ".";
    this.dot.dataset.key = kind === "id_number" ? "X" : ".";
    this.dot.disabled = !(kind === "amount" || kind === "id_number");
  }

  press(key) {
    if (key === "back") return this.update(this.value.slice(0, -1));
    if (this.value.length >= LIMITS[this.kind]) return;
    if (key === "." && (this.value.includes(".") || this.value === "")) return;
    if (this.kind === "amount" && this.value.includes(".") && this.value.split(".")[1].length >= 2) return;
    this.update(this.value + key);
  }

  update(value) {
    this.value = value;
    const grouped = this.kind === "amount" ? value : value.replace(/(.{4})(?=.)/g, "$1 ");
    this.display.textContent = grouped;
  }

  submit() {
    if (!this.value) return;
    const t = this.texts();
    const text = this.kind === "amount" ? (t.amount_format || "{value}").replace("{value}", this.value) : this.value;
    this.update("");
    this.onSubmit(text);
  }
}
