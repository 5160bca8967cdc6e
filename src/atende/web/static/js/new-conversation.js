// "Nova conversa": the connector decides what can be sent (text; on WhatsApp also an approved
// template with its parameters) and, on SMS, the live segment count and cost.
import { cheaper } from "./sms-economy.js";
import { countSegments } from "./sms-segments.js";

document.addEventListener("alpine:init", () => {
  window.Alpine.data("newConversation", (cfg) => ({
    ...cfg,
    templateId: "",
    params: [],
    body: "",
    preview: "",
    economize: false,

    get connector() {
      return this.connectors.find((c) => String(c.id) === String(this.connectorId)) || this.connectors[0] || {};
    },
    get isSms() { return this.connector.channel === "sms"; },
    get maxText() { return this.connector.maxText || 4096; },
    get templates() {
      return (this.connector.templates || []).map((t) => ({ ...t, label: `${t.name} (${t.language})` }));
    },
    get hasTemplates() { return this.templates.length > 0; },
    get templateMode() { return this.hasTemplates && this.mode === "template"; },
    get textMode() { return !this.templateMode; },

    changed() {
      if (!this.hasTemplates) this.mode = "text";
      this.economize = !!this.connector.economize;
      this.templateId = "";
      this.params = [];
      this.preview = "";
    },

    money(segments) {
      const micro = Math.round(parseFloat(this.connector.costPerSegment || "0") * 10000) * segments;
      try {
        return new Intl.NumberFormat(this.lang, { style: "currency", currency: "BRL" }).format(micro / 10000);
      } catch (_) { return `R$ ${(micro / 10000).toFixed(2)}`; }
    },
    get outgoing() { return this.isSms && this.economize ? cheaper(this.text) : this.text; },
    get counter() {
      const c = countSegments(this.outgoing);
      return `${c.segments} ${this.t.seg} | ${this.money(c.segments)} · ${c.units} ${this.t.chars} (${c.encoding === "gsm7" ? "GSM-7" : "UCS-2"})`;
    },
    get overSegments() {
      return this.isSms && this.segmentWarning > 0 && countSegments(this.outgoing).segments > this.segmentWarning;
    },
    get longSmsText() {
      const n = countSegments(this.outgoing).segments;
      return this.t.longSms.replace("{n}", n).replace("{cost}", this.money(n)).replace("{max}", this.segmentWarning);
    },

    paramLabel(i) { return `{{${i + 1}}}`; },
    pickTemplate() {
      const t = this.templates.find((x) => String(x.id) === String(this.templateId));
      const body = t ? ((t.components || []).find((c) => String(c.type || "").toLowerCase() === "body") || {}).text || t.name : "";
      const numbers = [...body.matchAll(/\{\{(\d+)\}\}/g)].map((m) => Number(m[1]));
      this.params = Array.from({ length: numbers.length ? Math.max(...numbers) : 0 }, (_, i) => this.params[i] || "");
      this.body = body;
      this.preview = body;
    },
    init() {
      this.economize = !!this.connector.economize;
      this.$watch("params", () => {
        this.preview = (this.body || "").replace(/\{\{(\d+)\}\}/g, (m, n) => this.params[Number(n) - 1] || m);
      });
    },
  }));
});
