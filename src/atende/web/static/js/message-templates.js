// Settings → message templates: the live preview (sample values, SMS segments and cost) of each editor.
import { countSegments } from "./sms-segments.js";
import { render, normalValues } from "./template-vars.js";

const SAMPLE = { nome: "Maria Silva", valor: "R$ 123,45", vencimento: "10/12", telefone: "(11) 98888-7777" };

function money(value, lang) {
  try { return new Intl.NumberFormat(lang, { style: "currency", currency: "BRL" }).format(value); } catch (_) { return `R$ ${value.toFixed(2)}`; }
}

document.addEventListener("alpine:init", () => {
  window.Alpine.data("templatePreview", () => ({
    preview: "",
    counter: "",

    init() {
      this.update();
    },

    update() {
      const el = this.$el.closest("[data-connectors]") || this.$el;
      let connectors = [];
      try { connectors = JSON.parse(el.dataset.connectors || "[]"); } catch (_) { connectors = []; }
      const values = normalValues({ ...SAMPLE, agente: el.dataset.agent || "" });
      const done = render(this.$refs.text?.value || "", values);
      this.preview = done.text;
      const picked = connectors.find((c) => String(c.id) === String(this.$refs.connector?.value || ""));
      // Without a connector the template may go by SMS: count it as SMS at the first SMS connector's price.
      const sms = picked ? (picked.segments ? picked : null) : connectors.find((c) => c.segments);
      const parts = [];
      if (sms) {
        const c = countSegments(done.text);
        const lang = document.body?.dataset.lang || "pt-BR";
        parts.push(`${c.segments} ${el.dataset.tSeg} · ${money(c.segments * Number(sms.price || 0), lang)} (${c.encoding === "gsm7" ? "GSM-7" : "UCS-2"}, ${c.units})`);
      }
      if (done.missing.length) parts.push(el.dataset.tMissing.replace("{vars}", done.missing.map((m) => `{{${m}}}`).join(", ")));
      this.counter = parts.join(" — ");
    },
  }));
});
