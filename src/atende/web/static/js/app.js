// atende workspace: what every page shares (CSRF for htmx, toasts, live events, notifications).
// Classic deferred script: runs after htmx and its SSE extension, before Alpine.js starts.
(function () {
  "use strict";

  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const stringsEl = document.getElementById("i18n-strings");
  let strings = {};
  try { strings = JSON.parse(stringsEl ? stringsEl.textContent : "{}"); } catch (_) { strings = {}; }
  const lang = () => document.body?.dataset.lang || "pt-BR";
  const me = () => Number(document.body?.dataset.userId || 0);

  // ---- npm dependencies missing: say so instead of a half-working page ----------------------
  window.addEventListener("load", () => {
    if (!window.htmx || !window.Alpine) {
      document.getElementById("vendor-missing")?.removeAttribute("hidden");
    }
  });

  // ---- behaviour declared in markup (the CSP allows no inline handlers) ---------------------
  // data-toggle-class / data-remove-class + data-toggle-target: flip a class on another element;
  // data-autosubmit: a select that submits its form; data-confirm on a form or button: ask first.
  document.addEventListener("click", (e) => {
    const el = e.target instanceof Element ? e.target.closest("[data-toggle-target]") : null;
    if (!el) return;
    const target = document.getElementById(el.dataset.toggleTarget);
    if (!target) return;
    if (el.dataset.toggleClass) target.classList.toggle(el.dataset.toggleClass);
    if (el.dataset.removeClass) target.classList.remove(el.dataset.removeClass);
  });
  document.addEventListener("change", (e) => {
    const el = e.target;
    if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit")) el.form?.submit();
  });
  document.addEventListener("click", (e) => {
    const button = e.target instanceof Element ? e.target.closest("button[data-confirm]") : null;
    if (button && !window.confirm(button.dataset.confirm)) e.preventDefault();
  }, true);
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
    }
  }, true);

  // ---- toasts ------------------------------------------------------------------------------
  function toast(message, kind = "error") {
    const box = document.getElementById("toasts");
    if (!box || !message) return;
    const item = document.createElement("div");
    item.className = "toast " + kind;
    item.textContent = message;
    box.appendChild(item);
    setTimeout(() => item.remove(), 6000);
  }

  async function errorText(response) {
    let text = "";
    try { text = await response.text(); } catch (_) { /* ignore */ }
    try {
      const data = JSON.parse(text);
      if (typeof data.detail === "string") return data.detail;
      if (Array.isArray(data.detail)) return data.detail.map((d) => d.msg).join("; ");
    } catch (_) { /* not JSON */ }
    return text && text.length < 300 ? text : (strings.error || "Erro");
  }

  // fetch with the session's CSRF token; page routes answer errors as short text.
  function apiFetch(url, options = {}) {
    const headers = new Headers(options.headers || {});
    headers.set("X-Requested-With", "fetch");
    if ((options.method || "GET").toUpperCase() !== "GET") headers.set("X-CSRF-Token", csrf());
    return fetch(url, { credentials: "same-origin", ...options, headers });
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { area.remove(); }
    return Promise.resolve();
  }

  // ---- htmx: CSRF header on every non-GET, errors as toasts ----------------------------------
  document.addEventListener("htmx:configRequest", (e) => {
    if (e.detail.verb !== "get") e.detail.headers["X-CSRF-Token"] = csrf();
  });
  document.addEventListener("htmx:responseError", async (e) => {
    const xhr = e.detail.xhr;
    let text = xhr.responseText || "";
    try { const data = JSON.parse(text); text = typeof data.detail === "string" ? data.detail : text; } catch (_) { /* text */ }
    toast(text && text.length < 300 ? text : strings.error);
  });
  document.addEventListener("htmx:sendError", () => toast(strings.offline));

  // ---- live events: one EventSource (htmx SSE extension) fanned out as DOM events ----------
  let lastEventId = "";
  if (window.htmx) {
    // A hard reconnect opens a new EventSource: carry on from the last event seen.
    window.htmx.createEventSource = (url) => {
      const target = new URL(url, location.href);
      if (lastEventId) target.searchParams.set("last_event_id", lastEventId);
      return new EventSource(target.toString(), { withCredentials: true });
    };
  }
  // ---- the presence reminder: refreshed while the agent is not online and work arrives ------
  let presenceTimer = null;
  document.addEventListener("atende:event", (e) => {
    const box = document.getElementById("presence");
    if (!box || box.dataset.presence === "online" || !String(e.detail.type || "").startsWith("conversation.")) return;
    clearTimeout(presenceTimer);
    presenceTimer = setTimeout(() => window.htmx?.trigger(box, "atende:presence-refresh"), 400);
  });

  document.addEventListener("htmx:sseBeforeMessage", (e) => {
    e.preventDefault(); // nothing to swap: the pages decide what to refresh
    const message = e.detail;
    if (message.lastEventId) lastEventId = message.lastEventId;
    let data;
    try { data = JSON.parse(message.data); } catch (_) { return; }
    document.dispatchEvent(new CustomEvent("atende:event", { detail: data }));
    if (data.type === "message.created" && data.direction === "in") maybeNotify(data);
    if (data.type === "connector.alert") alertSupervisors(data);
  });
  document.addEventListener("htmx:sseOpen", () => {
    document.body.classList.remove("offline");
    document.body.dataset.live = "1";
    document.dispatchEvent(new CustomEvent("atende:reconnected"));
  });
  document.addEventListener("htmx:sseError", () => document.body.classList.add("offline"));

  // ---- a provider restricted, banned or flagged an account: supervisors are told at once -----
  function alertSupervisors(data) {
    const role = document.body?.dataset.role || "";
    if (role !== "supervisor" && role !== "admin") return;
    toast(`⚠ ${data.name || ""}: ${data.detail || data.alert_type || ""}`, "alert-critical");
  }

  // ---- desktop notification + sound for new customer messages in my conversations ----------
  let audio = null;
  function beep() {
    // Browsers refuse sound before the first click or key press on the page (and warn in the console).
    if (navigator.userActivation && !navigator.userActivation.hasBeenActive) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.35);
    } catch (_) { /* no audio */ }
  }
  document.addEventListener("click", () => {
    if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
    if (audio && audio.state === "suspended") audio.resume();
  }, { once: true });

  async function maybeNotify(data) {
    const open = Number(document.getElementById("chat")?.dataset.conversation || 0);
    if (open === Number(data.conversation_id) && !document.hidden) return;
    let conv;
    try {
      const r = await apiFetch(`/api/v1/conversations/${data.conversation_id}`);
      if (!r.ok) return;
      conv = await r.json();
    } catch (_) { return; }
    if (!conv.assignee || conv.assignee.id !== me()) return;
    beep();
    if ("Notification" in window && Notification.permission === "granted") {
      const n = new Notification(`${strings.newMessage || "Nova mensagem"}: ${conv.contact.name}`,
        { body: data.preview || "", tag: `conv-${conv.id}` });
      n.onclick = () => { window.focus(); location.href = `/conversations/${conv.id}`; };
    }
  }

  // ---- relative times ("5 min") kept fresh -------------------------------------------------
  function ago(iso) {
    const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    const [value, unit] = seconds < 60 ? [Math.round(seconds), "second"]
      : seconds < 3600 ? [Math.floor(seconds / 60), "minute"]
      : seconds < 86400 ? [Math.floor(seconds / 3600), "hour"] : [Math.floor(seconds / 86400), "day"];
    try {
      return new Intl.NumberFormat(lang(), { style: "unit", unit, unitDisplay: "narrow" }).format(value);
    } catch (_) { return String(value); }
  }
  setInterval(() => {
    document.querySelectorAll("[data-ago][datetime]").forEach((el) => { el.textContent = ago(el.getAttribute("datetime")); });
  }, 30000);

  // ---- tag colours: set from data attributes (no inline styles under the CSP) -----------------
  function paintTags(root) {
    const scope = root && root.querySelectorAll ? root : document;
    const found = [...scope.querySelectorAll("[data-tag-colour]")];
    if (scope.matches && scope.matches("[data-tag-colour]")) found.push(scope);
    for (const el of found) {
      const colour = el.dataset.tagColour || "";
      if (/^#[0-9a-fA-F]{6}$/.test(colour)) el.style.setProperty("--tag", colour);
    }
  }
  document.addEventListener("DOMContentLoaded", () => paintTags(document));
  document.addEventListener("htmx:load", (e) => paintTags(e.target));

  // ---- Alpine components shared by several pages -------------------------------------------
  document.addEventListener("alpine:init", () => {
    // A read-only field with a copy button (the webhook URL).
    window.Alpine.data("copyField", () => ({
      copied: false,
      get idle() { return !this.copied; },
      select() { this.$refs.url.select(); },
      copy() {
        copy(this.$refs.url.value).then(() => {
          this.copied = true;
          setTimeout(() => { this.copied = false; }, 2000);
        });
      },
    }));
  });

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("connectionTest", (id) => ({
      busy: false, result: "", balance: "", ok: false,
      async run() {
        this.busy = true;
        this.result = "";
        try {
          const r = await apiFetch(`/api/v1/connectors/${id}/test`, { method: "POST" });
          if (!r.ok) { this.ok = false; this.result = await errorText(r); return; }
          const data = await r.json();
          this.ok = !!data.ok;
          this.result = data.detail || "";
          this.balance = data.balance_display || (data.balance ? `R$ ${data.balance}` : "");
        } catch (_) {
          this.ok = false;
          this.result = strings.error;
        } finally {
          this.busy = false;
        }
      },
    }));
  });

  // WhatsApp message templates on a connector's page: sync from the provider, list what came back.
  document.addEventListener("alpine:init", () => {
    window.Alpine.data("templateSync", (cfg) => ({
      busy: false, result: "", ok: false,
      async sync() {
        this.busy = true;
        this.result = "";
        try {
          const r = await apiFetch(`/api/v1/connectors/${cfg.id}/templates/sync`, { method: "POST" });
          if (!r.ok) { this.ok = false; this.result = await errorText(r); return; }
          const data = await r.json();
          this.ok = true;
          this.result = cfg.t.synced.replace(/\{(\w+)\}/g, (_, key) => String(data[key] ?? 0));
          this.render(data.items || []);
        } catch (_) {
          this.ok = false;
          this.result = strings.error;
        } finally {
          this.busy = false;
        }
      },
      render(items) {
        const rows = this.$refs.rows;
        rows.replaceChildren();
        const cell = (text) => { const td = document.createElement("td"); td.textContent = text; return td; };
        if (!items.length) {
          const td = cell(cfg.t.none);
          td.colSpan = 4;
          td.className = "muted";
          rows.appendChild(document.createElement("tr")).appendChild(td);
          return;
        }
        for (const t of items) {
          const tr = document.createElement("tr");
          const status = document.createElement("span");
          status.className = `pill tpl-${String(t.status || "").toLowerCase()}`;
          status.textContent = cfg.labels.status[t.status] || t.status || "—";
          const last = document.createElement("td");
          last.appendChild(status);
          if (t.status_reason) {
            const why = document.createElement("small");
            why.className = "reason";
            why.textContent = " " + t.status_reason;
            last.appendChild(why);
          }
          tr.append(cell(t.name), cell(t.language), cell(cfg.labels.category[t.category] || t.category || "—"), last);
          rows.appendChild(tr);
        }
      },
    }));
  });

  window.Atende = { toast, errorText, fetch: apiFetch, copy, csrf, lang, me, strings, paintTags };
})();
