// Settings → Odoo: the "Testar conexão" button (Alpine component, CSP-friendly: no inline expressions).
(function () {
  "use strict";

  document.addEventListener("alpine:init", () => {
    window.Alpine.data("odooTest", () => ({
      busy: false,
      result: "",
      ok: false,
      get resultClass() {
        return this.ok ? "ok" : "alert";
      },
      async run() {
        this.busy = true;
        this.result = "";
        try {
          const r = await window.Atende.fetch("/api/v1/integrations/odoo/test", { method: "POST" });
          if (!r.ok) {
            this.ok = false;
            this.result = await window.Atende.errorText(r);
            return;
          }
          const data = await r.json();
          this.ok = !!data.ok;
          this.result = data.detail || "";
        } catch (_) {
          this.ok = false;
          this.result = window.Atende.strings.error || "Erro";
        } finally {
          this.busy = false;
        }
      },
    }));
  });
})();
