// The Kanban board: drag and drop (SortableJS), keyboard buttons, live cards and counts (SSE).
const board = document.getElementById("board");

if (board) {
  const filterQS = board.dataset.filter || "";
  const countsQS = board.dataset.counts || "";
  const Atende = window.Atende;

  // Columns list newest activity first; Novo (data-order="waiting") lists the longest-waiting first.
  const cmp = (a, b) => {
    const d = Number(a.dataset.sort) - Number(b.dataset.sort);
    return d !== 0 ? d : Number(a.dataset.id) - Number(b.dataset.id);
  };
  const waitCmp = (a, b) => {
    const d = Number(b.dataset.wait) - Number(a.dataset.wait);
    return d !== 0 ? d : Number(b.dataset.id) - Number(a.dataset.id);
  };

  function insertSorted(column, card) {
    const order = column.dataset.order === "waiting" ? waitCmp : cmp;
    for (const other of column.querySelectorAll(":scope > .card")) {
      if (order(card, other) > 0) { column.insertBefore(card, other); return true; }
    }
    // Older than every loaded card: it belongs to a page not loaded yet, unless this is the last page.
    if (column.querySelector(":scope > .sentinel")) return false;
    column.appendChild(card);
    return true;
  }

  function syncEmpty() {
    for (const column of board.querySelectorAll(".cards")) {
      column.querySelector(":scope > .empty-col")?.toggleAttribute("hidden", !!column.querySelector(":scope > .card"));
    }
  }

  function place(id, html) {
    const old = document.getElementById(`card-${id}`);
    const hadFocus = old && old.contains(document.activeElement);
    const tpl = document.createElement("template");
    tpl.innerHTML = (html || "").trim();
    const card = tpl.content.firstElementChild;
    old?.remove();
    if (card) {
      const column = document.getElementById(`column-${card.dataset.status}`);
      if (column && insertSorted(column, card)) {
        window.htmx?.process(card);
        Atende.paintTags(card);
        if (hadFocus) card.focus();
      }
    }
    syncEmpty();
  }

  async function refreshCard(id) {
    const r = await Atende.fetch(`/fragments/conversation/${id}?${filterQS}&view=card`);
    if (r.status === 204) { place(id, ""); return; }
    if (r.ok) place(id, await r.text());
  }

  async function refreshCounts() {
    if (board.dataset.search) {
      // A search shows what it found: count the cards on screen ("25+" while a column has more pages).
      const nf = new Intl.NumberFormat(Atende.lang());
      for (const status of ["new", "open", "done"]) {
        const column = document.getElementById(`column-${status}`);
        const el = document.getElementById(`count-${status}`);
        if (column && el) {
          el.textContent = nf.format(column.querySelectorAll(":scope > .card").length) +
            (column.querySelector(":scope > .sentinel") ? "+" : "");
        }
      }
      return;
    }
    const r = await Atende.fetch(`/api/v1/conversations/counts?${countsQS}`);
    if (!r.ok) return;
    const counts = await r.json();
    const nf = new Intl.NumberFormat(Atende.lang());
    for (const status of ["new", "open", "done"]) {
      const el = document.getElementById(`count-${status}`);
      if (el) el.textContent = nf.format(counts[status] || 0);
    }
  }

  async function moveCard(card, to) {
    const id = card.dataset.id;
    card.classList.add("busy");
    const body = new URLSearchParams(filterQS);
    body.set("conversation_id", id);
    body.set("to", to);
    try {
      const r = await Atende.fetch("/board/move", { method: "POST", body });
      if (!r.ok) {
        Atende.toast(await Atende.errorText(r));
        await refreshCard(id); // put it back where the server says it is
        return;
      }
      place(id, await r.text());
    } catch (_) {
      Atende.toast(Atende.strings.offline);
      await refreshCard(id).catch(() => {});
    } finally {
      card.classList.remove("busy");
      refreshCounts();
    }
  }

  for (const column of board.querySelectorAll(".cards")) {
    window.Sortable?.create(column, {
      group: "board",
      draggable: ".card",
      animation: 120,
      ghostClass: "ghost",
      delay: 150,
      delayOnTouchOnly: true,
      onEnd(evt) {
        if (evt.from !== evt.to) moveCard(evt.item, evt.to.dataset.column);
      },
    });
  }

  board.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-move]");
    if (button) moveCard(button.closest(".card"), button.dataset.move);
  });
  board.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target.classList?.contains("card")) {
      e.target.querySelector(".card-name")?.click();
    }
  });

  // ---- live: refresh the cards events touch, and the counts --------------------------------
  const pending = new Set();
  let countsDirty = false;
  let timer = null;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const ids = [...pending];
      pending.clear();
      const counts = countsDirty;
      countsDirty = false;
      await Promise.all(ids.map((id) => refreshCard(id).catch(() => {})));
      if (counts) refreshCounts().catch(() => {});
    }, 60);
  }
  document.addEventListener("atende:event", (e) => {
    const d = e.detail;
    if (d.type.startsWith("conversation.")) {
      pending.add(String(d.id));
      if (d.type !== "conversation.read" && d.type !== "conversation.tagged") countsDirty = true;
    } else if (d.type === "message.created") {
      pending.add(String(d.conversation_id));
    } else if (d.type === "message.updated" && (d.status === "sent" || d.status === "failed")) {
      // The provider took (or refused) a message: the card's "N seg | R$" moves now.
      if (document.getElementById(`card-${d.conversation_id}`)) pending.add(String(d.conversation_id));
    } else if (d.type === "contact.updated") {
      board.querySelectorAll(`.card[data-contact="${d.id}"]`).forEach((c) => pending.add(c.dataset.id));
    } else {
      return;
    }
    schedule();
  });
  document.addEventListener("atende:reconnected", () => { countsDirty = true; schedule(); });
  document.body.addEventListener("atende:counts", () => refreshCounts());
  syncEmpty();
}
