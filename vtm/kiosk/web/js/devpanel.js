// Developer mode (`vtm serve --simulate-devices`): a panel standing in for the kiosk's hardware.
// It sends device commands in the script syntax (`insert_card N`, `pin N`, `scan_id N`, ...).
// The PIN field stands for the physical PIN pad: a password field, cleared as soon as it is sent.

export class DevicePanel {
  constructor(root, onCommand) {
    this.root = root;
    this.onCommand = onCommand;
    root.querySelectorAll("[data-dev]").forEach((button) =>
      button.addEventListener("click", () => this.use(button.dataset.dev)));
    root.querySelector("#dev-pin-form").addEventListener("submit", (event) => { event.preventDefault(); this.use("pin"); });
  }

  configure(enabled, demoCards) {
    this.root.hidden = !enabled;
    document.getElementById("app").classList.toggle("developer", enabled);
    const cards = this.root.querySelector("#dev-cards");
    const ids = this.root.querySelector("#dev-ids");
    cards.replaceChildren();
    ids.replaceChildren();
    for (const card of demoCards || []) {
      const option = document.createElement("option");
      option.value = card.card_number;
      option.label = card.holder;
      cards.append(option);
      const id = document.createElement("option");
      id.value = card.id_number;
      id.label = card.holder;
      ids.append(id);
    }
  }

  use(action) {
    this.error("");
    const field = (id) => this.root.querySelector(id).value.replace(/\s+/g, "");
    if (action === "insert_card") return this.onCommand(`insert_card ${field("#dev-card")}`);
    if (action === "scan_id") return this.onCommand(`scan_id ${field("#dev-id")}`);
    if (action === "pin") {
      const pin = this.root.querySelector("#dev-pin");
      const command = `pin ${pin.value}`;
      pin.value = "";
      return this.onCommand(command);
    }
    return this.onCommand(action);
  }

  error(text) {
    this.root.querySelector("#dev-error").textContent = text;
  }
}
