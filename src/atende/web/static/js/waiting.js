// Waiting-time colours (the SLA): cards and list items carry data-waiting-since (ISO time) and their
// team's data-wait-warn / data-wait-late (seconds, 0 = off). The server renders the colour; this keeps
// it current as time passes. `level` is atende.domain.waiting.level (tests/domain/test_waiting_js_parity.py).

export function level(waitedS, warnS, lateS) {
  if (lateS && waitedS >= lateS) return "late";
  if (warnS && waitedS >= warnS) return "warn";
  return "";
}

export function paint(root = document, now = Date.now()) {
  root.querySelectorAll("[data-waiting-since]").forEach((el) => {
    const since = Date.parse(el.dataset.waitingSince || "");
    const found = Number.isNaN(since) ? ""
      : level((now - since) / 1000, Number(el.dataset.waitWarn || 0), Number(el.dataset.waitLate || 0));
    el.classList.toggle("wait-warn", found === "warn");
    el.classList.toggle("wait-late", found === "late");
    if (el.dataset.waitLevel !== found) {
      el.dataset.waitLevel = found;
      el.dispatchEvent(new CustomEvent("atende:wait-level", { bubbles: true, detail: { level: found } }));
    }
  });
}

if (typeof document !== "undefined") {
  paint();
  setInterval(() => paint(), 15000);
  document.addEventListener("htmx:afterSettle", () => paint());
}
