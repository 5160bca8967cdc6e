// Keyboard shortcuts of the workspace, and the "?" overlay that lists them (a <dialog> in base.html).
// Keys act on elements marked data-shortcut="take|close|transfer|reply" (chat header and composer) or,
// on the board, on the focused card's own buttons, so a shortcut never does what a click could not.
(function () {
  "use strict";

  function typing(target) {
    if (!(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    return !!target.closest("input, textarea, select, [contenteditable='true']");
  }

  function visible(el) {
    return !!el && !el.disabled && el.getClientRects().length > 0;
  }

  function marked(name) {
    return [...document.querySelectorAll(`[data-shortcut="${name}"]`)].find(visible) || null;
  }

  // ---- next / previous conversation -----------------------------------------------------------
  function step(delta) {
    const items = [...document.querySelectorAll("#conv-list > .conv-item")];
    if (items.length) {
      const current = items.findIndex((el) => el.getAttribute("aria-current") === "true" || el.classList.contains("active"));
      const next = items[current < 0 ? (delta > 0 ? 0 : items.length - 1) : current + delta];
      if (next) { next.click(); next.scrollIntoView({ block: "nearest" }); }
      return true;
    }
    const cards = [...document.querySelectorAll("#board .card")].filter(visible);
    if (cards.length) {
      const current = cards.indexOf(document.activeElement?.closest?.(".card"));
      const next = cards[current < 0 ? (delta > 0 ? 0 : cards.length - 1) : current + delta];
      next?.focus();
      return true;
    }
    return false;
  }

  // ---- actions ----------------------------------------------------------------------------------
  function onCard(move) {
    const card = document.activeElement?.closest?.("#board .card");
    const button = card?.querySelector(`button[data-move="${move}"]`);
    if (button) { button.click(); return true; }
    return false;
  }

  function act(name) {
    if (name === "take" && onCard("open")) return true;
    if (name === "close" && onCard("done")) return true;
    const el = marked(name);
    if (!el) return false;
    if (el.tagName === "SUMMARY") {
      const details = el.parentElement;
      if (details && !details.open) el.click();
      setTimeout(() => details?.querySelector("select, input, textarea, button")?.focus(), 0);
    } else if (el.tagName === "TEXTAREA" || el.tagName === "INPUT") {
      el.focus();
    } else {
      el.click();
    }
    return true;
  }

  // ---- the overlay --------------------------------------------------------------------------------
  function help() {
    const dialog = document.getElementById("shortcuts-help");
    if (!dialog) return false;
    if (dialog.open) dialog.close(); else dialog.showModal();
    return true;
  }

  document.addEventListener("click", (e) => {
    if (!(e.target instanceof Element)) return;
    if (e.target.closest("[data-shortcuts-close]")) document.getElementById("shortcuts-help")?.close();
    else if (e.target.closest("[data-shortcuts-open]")) help();
  });

  const KEYS = {
    "?": help,
    j: () => step(1),
    k: () => step(-1),
    a: () => act("take"),
    c: () => act("close"),
    t: () => act("transfer"),
    r: () => act("reply"),
  };

  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (e.key === "Escape" && typing(e.target) && e.target.closest?.("#composer")) {
      e.target.blur(); // leave the composer: the keys are shortcuts again
      return;
    }
    if (typing(e.target)) return;
    const handler = KEYS[e.key];
    if (handler && handler()) e.preventDefault();
  });
})();
