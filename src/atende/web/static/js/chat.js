// Inbox and chat: composer (SMS counter, quick replies, emoji, attachments, templates) and live thread.
import { cheaper } from "./sms-economy.js";
import { countSegments } from "./sms-segments.js";
import { render, variablesIn } from "./template-vars.js";

const Atende = window.Atende;
const EMOJIS = ["😀", "😊", "😉", "🙂", "😍", "😅", "😂", "🤔", "😢", "😮", "🙏", "👍", "👎", "👏", "👋", "🙌",
  "💪", "🎉", "❤️", "💚", "✅", "❌", "⚠️", "📌", "📞", "📱", "💬", "📄", "💰", "🕒", "📅", "🚚"];

// ---- composer ---------------------------------------------------------------------------------
document.addEventListener("alpine:init", () => {
  window.Alpine.data("composer", (cfg) => ({
    ...cfg,
    mode: cfg.locked ? "note" : (cfg.windowClosed ? "template" : "reply"),
    text: "",
    busy: false,
    suggestions: [],
    active: 0,
    templateId: "",
    params: [],
    preview: "",
    emojis: EMOJIS,
    missing: [],
    sendAt: "",

    get sendLabel() {
      if (this.mode === "note") return this.t.note;
      return this.sendAt && this.mode === "reply" ? this.t.schedule : this.t.send;
    },

    // Templates and quick replies with {{variables}}: filled from this conversation (contact, agent,
    // the last campaign's columns); what has no value stays visible and is listed under the box.
    get replying() { return this.mode === "reply"; },
    get hasMissing() { return this.mode !== "note" && this.missing.length > 0; },
    get missingText() { return this.t.missing.replace("{vars}", this.missing.map((m) => `{{${m}}}`).join(", ")); },
    fill(text) {
      const done = render(text, this.values || {});
      this.missing = done.missing;
      return done.text;
    },
    useMessageTemplate() {
      const select = this.$refs.messageTemplate;
      const chosen = (this.messageTemplates || []).find((x) => String(x.id) === select.value);
      select.value = "";
      if (!chosen) return;
      const area = this.$refs.text;
      this.text = this.fill(chosen.text);
      this.$nextTick(() => area?.focus());
    },

    money(segments) {
      const micro = Math.round(parseFloat(this.costPerSegment || "0") * 10000) * segments;
      try {
        return new Intl.NumberFormat(this.lang, { style: "currency", currency: "BRL" }).format(micro / 10000);
      } catch (_) { return `R$ ${(micro / 10000).toFixed(2)}`; }
    },

    // SMS: what goes out (economized when the toggle is on and that saves segments).
    get outgoing() { return this.channel === "sms" && this.economize ? cheaper(this.text) : this.text; },
    get economized() { return cheaper(this.text); },
    get saves() { return this.channel === "sms" && this.mode === "reply" && this.economized !== this.text; },
    get economyText() {
      const before = countSegments(this.text).segments;
      const after = countSegments(this.economized).segments;
      const fill = (t) => t.replace("{before}", before).replace("{after}", after)
        .replace("{costBefore}", this.money(before)).replace("{costAfter}", this.money(after));
      return fill(this.economize ? this.t.economy : this.t.economyOff);
    },

    get counter() {
      const c = countSegments(this.outgoing);
      return `${c.segments} ${this.t.seg} | ${this.money(c.segments)} · ${c.units} ${this.t.chars} (${c.encoding === "gsm7" ? "GSM-7" : "UCS-2"}), ${c.remaining} ${this.t.left}`;
    },

    // SMS past the configured number of segments: a warning while typing, a question before sending.
    get overSegments() {
      return this.channel === "sms" && this.mode === "reply" && this.segmentWarning > 0 &&
        countSegments(this.outgoing).segments > this.segmentWarning;
    },
    segmentNotice(template) {
      const n = countSegments(this.outgoing).segments;
      return template.replace("{n}", n).replace("{cost}", this.money(n)).replace("{max}", this.segmentWarning);
    },
    get longSmsText() { return this.segmentNotice(this.t.longSms); },

    // Other channels: "3.900 / 4.096" once the text nears what the channel accepts (the textarea stops there).
    get nearLimit() { return this.mode !== "template" && this.text.length >= this.maxText * 0.8; },
    get lengthText() {
      const f = new Intl.NumberFormat(this.lang);
      return `${f.format(this.text.length)} / ${f.format(this.maxText)}`;
    },

    replyMode() {
      if (this.locked) return;
      this.mode = this.windowClosed ? "template" : "reply";
      this.$nextTick(() => this.$refs.text?.focus());
    },

    // The header says who may answer the customer now (after take, transfer, or another agent's move).
    setLocked(locked, holder) {
      this.holder = holder;
      if (locked === this.locked) return;
      this.locked = locked;
      if (locked) this.mode = "note";
      else if (this.mode === "note" && !this.text) this.mode = this.windowClosed ? "template" : "reply";
    },

    onInput() {
      this.missing = variablesIn(this.text);
      const m = /^\/(\S*)$/.exec(this.text);
      if (!m || this.mode === "template") { this.suggestions = []; return; }
      const needle = m[1].toLowerCase();
      this.suggestions = this.quickReplies.filter((q) => q.shortcut.startsWith(needle)).slice(0, 8);
      this.active = 0;
    },

    onKey(e) {
      if (this.suggestions.length) {
        if (e.key === "ArrowDown") { e.preventDefault(); this.active = (this.active + 1) % this.suggestions.length; return; }
        if (e.key === "ArrowUp") { e.preventDefault(); this.active = (this.active + this.suggestions.length - 1) % this.suggestions.length; return; }
        if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); this.applyQuick(this.suggestions[this.active]); return; }
        if (e.key === "Escape") { this.suggestions = []; return; }
      }
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.send(); }
    },

    applyQuick(q) {
      // Read the ref first: a click comes from a suggestion that clearing the list removes, and
      // $refs asked from a removed element finds nothing.
      const area = this.$refs.text;
      this.text = this.fill(q.text);
      this.suggestions = [];
      this.$nextTick(() => area?.focus());
    },

    insert(value) {
      const area = this.$refs.text;
      const start = area.selectionStart ?? this.text.length;
      const end = area.selectionEnd ?? this.text.length;
      this.text = this.text.slice(0, start) + value + this.text.slice(end);
      this.$refs.emoji?.removeAttribute("open");
      this.$nextTick(() => { area.focus(); area.selectionStart = area.selectionEnd = start + value.length; });
    },

    pickTemplate() {
      const t = this.templates.find((x) => String(x.id) === String(this.templateId));
      const body = t ? ((t.components || []).find((c) => String(c.type || "").toLowerCase() === "body") || {}).text || t.name : "";
      const numbers = [...body.matchAll(/\{\{(\d+)\}\}/g)].map((m) => Number(m[1]));
      this.params = Array.from({ length: numbers.length ? Math.max(...numbers) : 0 }, (_, i) => this.params[i] || "");
      this.preview = body;
    },

    async post(body) {
      this.busy = true;
      try {
        const r = await Atende.fetch(this.sendUrl, { method: "POST", body });
        if (!r.ok) { Atende.toast(await Atende.errorText(r)); return false; }
        syncThread();
        return true;
      } catch (_) {
        Atende.toast(Atende.strings.offline);
        return false;
      } finally {
        this.busy = false;
      }
    },

    async send() {
      if (this.busy) return;
      const body = new FormData();
      body.set("mode", this.mode);
      if (this.mode === "template") {
        body.set("template_id", this.templateId);
        this.params.forEach((p) => body.append("params", p));
      } else {
        if (!this.text.trim()) return;
        if (this.overSegments && !window.confirm(this.segmentNotice(this.t.confirmLong))) return;
        body.set("text", this.text);
        if (this.sendAt && this.mode === "reply") body.set("send_at", this.sendAt);
        if (this.channel === "sms") body.set("economize", this.economize ? "1" : "0");
      }
      if (await this.post(body)) {
        this.text = "";
        this.missing = [];
        this.sendAt = "";
        this.$refs.schedule?.removeAttribute("open");
        this.suggestions = [];
        if (this.mode === "template") { this.templateId = ""; this.params = []; this.preview = ""; }
      }
    },

    async upload() {
      const file = this.$refs.file?.files?.[0];
      if (!file) return;
      const form = new FormData();
      form.set("file", file);
      this.busy = true;
      let media;
      try {
        const r = await Atende.fetch("/api/v1/media", { method: "POST", body: form });
        if (r.status === 404 || r.status === 405) { Atende.toast(this.t.noUpload); return; }
        if (!r.ok) { Atende.toast(await Atende.errorText(r)); return; }
        media = await r.json();
      } catch (_) {
        Atende.toast(this.t.uploadFailed);
        return;
      } finally {
        this.busy = false;
        this.$refs.file.value = "";
      }
      const mime = String(media.mime_type || file.type || "");
      const body = new FormData();
      body.set("mode", "reply");
      body.set("media_id", media.id);
      body.set("media_kind", media.kind || (mime.split("/")[0] === "application" ? "document" : mime.split("/")[0]));
      body.set("text", this.text);
      if (await this.post(body)) this.text = "";
    },
  }));
});

// ---- the open conversation --------------------------------------------------------------------
const chat = () => document.getElementById("chat");
const thread = () => document.getElementById("thread");
const openId = () => Number(chat()?.dataset.conversation || 0);

function maxId(selector, attr) {
  let max = 0;
  thread()?.querySelectorAll(selector).forEach((el) => { max = Math.max(max, Number(el.getAttribute(attr)) || 0); });
  return max;
}

function nearBottom(el) {
  return el.scrollHeight - el.scrollTop - el.clientHeight < 120;
}

function scrollToBottom() {
  const el = thread();
  if (el) el.scrollTop = el.scrollHeight;
}

let syncing = Promise.resolve();
function syncThread() {
  syncing = syncing.then(async () => {
    const id = openId();
    const el = thread();
    if (!id || !el) return;
    const stick = nearBottom(el);
    const url = `/conversations/${id}/thread?after_msg=${maxId("[data-msg-id]", "data-msg-id")}` +
      `&after_event=${maxId("[data-event-id]", "data-event-id")}`;
    const r = await Atende.fetch(url);
    if (!r.ok || openId() !== id) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = (await r.text()).trim();
    for (const node of [...tpl.content.children]) {
      const existing = node.id ? document.getElementById(node.id) : null;
      if (existing) existing.replaceWith(node); else el.appendChild(node);
      window.htmx?.process(node);
    }
    if (stick) scrollToBottom();
  }).catch(() => {});
  return syncing;
}

// Status changes queue behind any thread sync in flight: the bubble they change may be arriving with it.
function refreshBubble(messageId) {
  syncing = syncing.then(async () => {
    if (!document.getElementById(`msg-${messageId}`)) return;
    const r = await Atende.fetch(`/messages/${messageId}/bubble`);
    if (!r.ok) return;
    const tpl = document.createElement("template");
    tpl.innerHTML = (await r.text()).trim();
    const node = tpl.content.firstElementChild;
    const current = document.getElementById(`msg-${messageId}`);
    if (node && current) {
      current.replaceWith(node);
      window.htmx?.process(node);
    }
  }).catch(() => {});
  return syncing;
}

function refreshHeader() {
  const id = openId();
  const header = document.getElementById("chat-header");
  if (!id || !header || header.contains(document.activeElement) && document.activeElement.tagName === "SELECT") return;
  window.htmx.ajax("GET", `/conversations/${id}/header`, { target: "#chat-header", swap: "outerHTML" });
}

let headerTimer = null;
function refreshHeaderSoon() {
  clearTimeout(headerTimer);
  headerTimer = setTimeout(refreshHeader, 150);
}

function refreshContact() {
  const panel = document.getElementById("contact-panel");
  if (!panel || panel.contains(document.activeElement)) return;
  window.htmx.ajax("GET", `/contacts/${panel.dataset.contact}/panel?conversation=${openId() || ""}`,
    { target: "#contact-panel", swap: "outerHTML" });
}

function markRead() {
  const id = openId();
  if (id && !document.hidden) Atende.fetch(`/conversations/${id}/read`, { method: "POST" }).catch(() => {});
}

// ---- the conversation list (inbox) ------------------------------------------------------------
const list = () => document.getElementById("conv-list");
const inboxFilter = () => document.getElementById("inbox")?.dataset.filter || "";

function placeItem(id, html) {
  const box = list();
  if (!box) return;
  document.getElementById(`item-${id}`)?.remove();
  const tpl = document.createElement("template");
  tpl.innerHTML = (html || "").trim();
  const item = tpl.content.firstElementChild;
  if (!item) return;
  const key = (el) => [Number(el.dataset.sort), Number(el.dataset.id)];
  const [s, i] = key(item);
  for (const other of box.querySelectorAll(":scope > .conv-item")) {
    const [os, oi] = key(other);
    if (s > os || (s === os && i > oi)) { box.insertBefore(item, other); window.htmx?.process(item); return; }
  }
  if (!box.querySelector(":scope > .sentinel")) { box.appendChild(item); window.htmx?.process(item); }
}

function syncEmptyList() {
  const box = list();
  const empty = box?.querySelector(":scope > .empty-col");
  if (!box || !empty) return;
  empty.hidden = !!box.querySelector(":scope > .conv-item, :scope > .sentinel");
}

async function refreshItem(id) {
  if (!list()) return;
  const r = await Atende.fetch(`/fragments/conversation/${id}?${inboxFilter()}&view=item&active=${openId()}`);
  if (r.status === 204) document.getElementById(`item-${id}`)?.remove();
  else if (r.ok) placeItem(id, await r.text());
  syncEmptyList();
}

function highlightActive() {
  const id = openId();
  document.querySelectorAll(".conv-item").forEach((el) => {
    const on = Number(el.dataset.id) === id;
    el.classList.toggle("active", on);
    if (on) el.setAttribute("aria-current", "true"); else el.removeAttribute("aria-current");
  });
  document.getElementById("inbox")?.classList.toggle("has-active", !!id);
}

// ---- events -----------------------------------------------------------------------------------
const pendingItems = new Set();
let itemTimer = null;
function queueItem(id) {
  pendingItems.add(String(id));
  clearTimeout(itemTimer);
  itemTimer = setTimeout(() => {
    const ids = [...pendingItems];
    pendingItems.clear();
    ids.forEach((x) => refreshItem(x).catch(() => {}));
  }, 60);
}

// The contact panel lists the customer's conversations on every channel, with their status.
function panelShows(conversationId) {
  return !!document.querySelector(`#contact-panel a[href="/conversations/${conversationId}"]`);
}

document.addEventListener("atende:event", (e) => {
  const d = e.detail;
  const open = openId();
  if (d.type.startsWith("conversation.")) {
    queueItem(d.id);
    if (Number(d.id) === open && d.type !== "conversation.read") { refreshHeader(); syncThread(); }
    if (d.type !== "conversation.read" && panelShows(d.id)) refreshContact();
  } else if (d.type === "message.created") {
    queueItem(d.conversation_id);
    if (Number(d.conversation_id) === open) {
      syncThread();
      if (d.direction === "in") markRead();
    }
  } else if (d.type === "message.updated") {
    if (Number(d.conversation_id) === open) {
      refreshBubble(d.id);
      // Accepted or refused by the provider: the header's "N seg | R$" total changes.
      if ((d.status === "sent" || d.status === "failed") && chat()?.dataset.channel === "sms") refreshHeaderSoon();
    }
  } else if (d.type === "contact.updated") {
    if (String(d.id) === chat()?.dataset.contact) { refreshContact(); refreshHeaderSoon(); }
    document.querySelectorAll(`.conv-item[data-contact="${d.id}"]`).forEach((el) => queueItem(el.dataset.id));
  }
});
document.addEventListener("atende:reconnected", () => { syncThread(); });
document.body.addEventListener("atende:thread-sync", () => syncThread());
// A change made from the header itself (priority): refresh it even though its select has the focus.
document.body.addEventListener("atende:header-refresh", () => {
  const id = openId();
  if (id && document.getElementById("chat-header")) {
    window.htmx.ajax("GET", `/conversations/${id}/header`, { target: "#chat-header", swap: "outerHTML" });
  }
});
document.addEventListener("visibilitychange", () => { if (!document.hidden) markRead(); });

// The header decides who may answer: the composer follows it (take, transfer, another agent's move).
function syncComposer() {
  const header = document.getElementById("chat-header");
  const composer = document.getElementById("composer");
  if (!header || !composer || !window.Alpine) return;
  const state = window.Alpine.$data(composer);
  state?.setLocked?.(header.dataset.mayHandle !== "1", header.dataset.holder || "");
}

// After an action button replaced the header, focus would fall to <body>: keep the keyboard user in the chat.
let headerHadFocus = false;
document.body.addEventListener("htmx:beforeSwap", (e) => {
  if (e.detail.target?.id === "chat-header") headerHadFocus = e.detail.target.contains(document.activeElement);
});

document.body.addEventListener("htmx:afterSettle", (e) => {
  const header = e.target; // an outerHTML swap settles on the new element
  if (header?.id !== "chat-header") return;
  syncComposer();
  if (openId()) queueItem(openId()); // our own action shows in the list now, not on the next live event
  if (headerHadFocus && (!document.activeElement || document.activeElement === document.body)) {
    const text = document.querySelector("#composer textarea");
    const canWrite = header.dataset.mayHandle === "1" && header.dataset.status === "open" && text?.offsetParent;
    (canWrite ? text : header.querySelector(".actions button:not([disabled]), .actions summary"))?.focus();
  }
  headerHadFocus = false;
});

document.body.addEventListener("htmx:afterSwap", (e) => {
  if (e.detail.target?.id === "chat-main") {
    highlightActive();
    scrollToBottom();
    // Keyboard users land in the conversation they opened (Tab: composer; Shift+Tab: actions).
    if (document.activeElement?.closest?.(".conv-item") || document.activeElement === document.body) {
      document.getElementById("thread")?.focus({ preventScroll: true });
    }
  }
});

// A search result opens the thread on its message (/conversations/N?m=ID#msg-ID).
function jumpToHit() {
  const target = location.hash.startsWith("#msg-") ? document.getElementById(location.hash.slice(1)) : null;
  if (!target || !thread()?.contains(target)) return false;
  target.classList.add("hit");
  target.scrollIntoView({ block: "center" });
  return true;
}

if (!jumpToHit()) scrollToBottom();
highlightActive();
if (openId() && document.activeElement === document.body) document.getElementById("thread")?.focus({ preventScroll: true });
