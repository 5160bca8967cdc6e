// A server-rendered fragment fetched again when live events say its numbers moved: at most once per
// `every` ms, and always after the last event (a pending fetch covers the events that arrive meanwhile).
export function liveFragment(id, { every = 500, types = [], replace = false, refreshEvery = 0 } = {}) {
  let pending = null;
  async function load() {
    pending = null;
    const el = document.getElementById(id);
    if (!el || !el.dataset.src) return;
    el.setAttribute("aria-busy", "true");
    try {
      const r = await window.Atende.fetch(el.dataset.src);
      if (!r.ok) return;
      const html = await r.text();
      if (replace) {
        const tpl = document.createElement("template");
        tpl.innerHTML = html.trim();
        const fresh = tpl.content.firstElementChild;
        if (fresh) el.replaceWith(fresh);
      } else {
        el.innerHTML = html;
      }
      document.dispatchEvent(new CustomEvent("atende:refreshed", { detail: { id } }));
    } catch (_) {
      /* offline: the next event or reconnect tries again */
    } finally {
      document.getElementById(id)?.removeAttribute("aria-busy");
    }
  }
  function schedule() {
    if (!pending) pending = setTimeout(load, every);
  }
  const wanted = (type) => types.some((t) => (t.endsWith(".") ? type.startsWith(t) : type === t));
  document.addEventListener("atende:event", (e) => { if (wanted(e.detail.type || "")) schedule(); });
  document.addEventListener("atende:reconnected", schedule);
  if (refreshEvery > 0) setInterval(schedule, refreshEvery); // waits grow with nobody writing
  return { refresh: schedule };
}
