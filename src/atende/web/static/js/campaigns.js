// Campaign pages: the new-campaign form's live preview (first CSV row, segments, cost) and the
// campaign page's live progress (campaign.progress / campaign.updated events from the stream).
import { countSegments } from "./sms-segments.js";
import { normalName, normalValues, render } from "./template-vars.js";

const PHONE_COLUMNS = ["telefone", "phone", "celular", "fone", "whatsapp", "mobile"];

function money(value) {
  const lang = document.body?.dataset.lang || "pt-BR";
  try { return new Intl.NumberFormat(lang, { style: "currency", currency: "BRL" }).format(value); } catch (_) { return `R$ ${value.toFixed(2)}`; }
}

// The first data row of a CSV (enough for a preview: the server reads the whole file properly).
function firstRow(text) {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/).filter((l) => l.trim());
  if (lines.length < 1) return { columns: [], values: {} };
  const counts = [";", ",", "\t"].map((sep) => [sep, lines[0].split(sep).length - 1]);
  counts.sort((a, b) => b[1] - a[1]);
  const sep = counts[0][1] ? counts[0][0] : ",";
  const cells = (line) => line.split(sep).map((c) => c.trim().replace(/^"(.*)"$/, "$1"));
  const columns = cells(lines[0]).map(normalName);
  const row = lines.length > 1 ? cells(lines[1]) : [];
  const values = {};
  columns.forEach((name, i) => { if (name && !PHONE_COLUMNS.includes(name) && row[i]) values[name] = row[i]; });
  return { columns, values };
}

function bodyOf(template) {
  const body = (template.components || []).find((c) => String(c.type || "").toLowerCase() === "body");
  return body ? String(body.text || "") : "";
}

document.addEventListener("alpine:init", () => {
  window.Alpine.data("campaignForm", () => ({
    connectors: [],
    columns: [],
    sample: {},
    params: [],
    approved: [],
    preview: "",
    counter: "",

    init() {
      try { this.connectors = JSON.parse(this.$el.dataset.connectors || "[]"); } catch (_) { this.connectors = []; }
      this.update();
    },

    get connector() {
      const id = String(this.$refs.connector?.value || "");
      return this.connectors.find((c) => String(c.id) === id) || this.connectors[0] || null;
    },
    get usesTemplate() { return !!(this.connector && this.connector.templates); },
    get usesText() { return !this.usesTemplate; },
    get hasColumns() { return this.columns.length > 0; },
    get columnsText() { return this.columns.map((c) => (PHONE_COLUMNS.includes(c) ? `📱 ${c}` : `{{${c}}}`)).join("  "); },

    readFile() {
      const file = this.$refs.file?.files?.[0];
      if (!file) return;
      const reader = new FileReader();
      reader.onload = () => {
        const found = firstRow(String(reader.result || ""));
        this.columns = found.columns;
        this.sample = found.values;
        this.update();
      };
      reader.readAsText(file.slice(0, 65536));
    },

    useSaved() {
      // A saved template with variables becomes the campaign's text (to edit freely).
      const select = this.$refs.saved;
      let saved = [];
      try { saved = JSON.parse(select?.dataset.templates || "[]"); } catch (_) { saved = []; }
      const chosen = saved.find((t) => String(t.id) === String(select?.value || ""));
      if (chosen && this.$refs.text) this.$refs.text.value = chosen.text;
      if (select) select.value = "";
      this.update();
    },

    pickTemplate() {
      const key = this.$refs.template?.value || "";
      const t = this.approved.find((x) => x.key === key);
      const count = t ? new Set([...bodyOf(t).matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1])).size : 0;
      this.params = Array.from({ length: count }, (_, i) => ({ index: i, label: `{{${i + 1}}}`, value: "" }));
      this.update();
    },

    setParam(event) {
      const i = Number(event.target.dataset.index);
      if (this.params[i]) this.params[i].value = event.target.value;
      this.update();
    },

    update() {
      const el = this.$el.closest("[data-connectors]") || this.$el;
      const c = this.connector;
      this.approved = (c && c.approved ? c.approved : []).map((t) => ({ ...t, key: `${t.name}|${t.language}`, label: `${t.name} (${t.language})` }));
      const values = normalValues({ telefone: "(11) 98888-7777", agente: "", ...this.sample });
      let text = "";
      let missing = [];
      if (this.usesTemplate) {
        const t = this.approved.find((x) => x.key === (this.$refs.template?.value || ""));
        const filled = this.params.map((p) => render(p.value, values));
        missing = [...new Set(filled.flatMap((f) => f.missing))];
        text = t ? bodyOf(t).replace(/\{\{\s*(\d+)\s*\}\}/g, (whole, n) => (filled[Number(n) - 1] ? filled[Number(n) - 1].text : whole)) : "";
      } else {
        const done = render(this.$refs.text?.value || "", values);
        text = done.text;
        missing = this.hasColumns ? done.missing : [];
      }
      this.preview = text;
      const parts = [];
      if (c && c.segments && text) {
        const count = countSegments(text);
        parts.push(`${count.segments} ${el.dataset.tSeg} · ${money(count.segments * Number(c.price || 0))} ${el.dataset.tRecipient} (${count.encoding === "gsm7" ? "GSM-7" : "UCS-2"}, ${count.units})`);
      }
      if (missing.length) parts.push(el.dataset.tMissing.replace("{vars}", missing.map((m) => `{{${m}}}`).join(", ")));
      this.counter = parts.join(" — ");
    },
  }));
});

// ---- live progress ---------------------------------------------------------------------------
const page = document.getElementById("campaign-page");
const list = document.getElementById("campaign-list");

function setStats(root, stats) {
  for (const [key, value] of Object.entries(stats || {})) {
    root.querySelectorAll(`[data-stat="${key}"]`).forEach((el) => {
      el.textContent = key === "cost" ? money(Number(value)) : Number(value).toLocaleString(document.body?.dataset.lang || "pt-BR");
    });
  }
}

let refreshing = null;
function refreshCard(id) {
  // Status changes (and the controls that go with them) come from the server, at most every 300 ms.
  if (refreshing) return;
  refreshing = setTimeout(() => {
    refreshing = null;
    window.htmx?.ajax("GET", `/campaigns/${id}/live`, { target: "#campaign-live", swap: "outerHTML" });
  }, 300);
}

document.addEventListener("atende:event", (e) => {
  const d = e.detail;
  if (d.type !== "campaign.progress" && d.type !== "campaign.updated" && d.type !== "campaign.created") return;
  if (page && Number(page.dataset.campaign) === Number(d.id)) {
    const live = document.getElementById("campaign-live");
    if (live && d.stats) setStats(live, d.stats);  // at once; the card (status, controls, bar) follows
    refreshCard(d.id);
  }
  if (list) {
    const row = list.querySelector(`tr[data-campaign="${d.id}"]`);
    if (row && d.stats) setStats(row, d.stats);
  }
});
document.addEventListener("atende:reconnected", () => { if (page) refreshCard(page.dataset.campaign); });
