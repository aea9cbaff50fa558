// Keyboard shortcuts of the review queue: j/k move the selection, o (or Enter) opens the
// review page, a opens it at the sign-off form, c at the change-request comments. Ignored
// while typing in a field or with a modifier key held.
// On the review page, #approve focuses the sign-off form and #id_changes-comments the
// change request, and the embedded document is kept from taking the focus away from them.
(() => {
  "use strict";

  const isTyping = (element) =>
    Boolean(element) &&
    (element.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName));

  const initQueue = (table) => {
    const rows = Array.from(table.querySelectorAll("tbody tr[data-review-url]"));
    if (rows.length === 0) return;
    let current = -1;

    // j/k move the focus to the row itself (tabindex=-1: never a Tab stop of its own);
    // Tabbing onto a row's link only marks its row, leaving the focus on the link, so one
    // Tab moves to the next row: a row is one tab stop.
    const select = (index, moveFocus = true) => {
      const next = Math.max(0, Math.min(rows.length - 1, index));
      if (current >= 0 && current !== next) {
        rows[current].classList.remove("is-selected");
        rows[current].setAttribute("aria-selected", "false");
      }
      current = next;
      const row = rows[current];
      row.classList.add("is-selected");
      row.setAttribute("aria-selected", "true");
      if (moveFocus) {
        row.focus();
        row.scrollIntoView({ block: "nearest" });
      }
    };

    // Tabbing onto a row's link selects that row, so j/k continue from where focus is.
    rows.forEach((row, index) => {
      row.addEventListener("focusin", (event) => {
        if (current !== index) select(index, event.target === row);
      });
    });

    const go = (attribute) => {
      if (current < 0) select(0);
      window.location.assign(rows[current].getAttribute(attribute));
    };

    document.addEventListener("keydown", (event) => {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
      if (isTyping(event.target)) return;
      switch (event.key) {
        case "j":
          select(current + 1);
          break;
        case "k":
          select(current < 0 ? 0 : current - 1);
          break;
        case "o":
          go("data-review-url");
          break;
        case "Enter":
          if (event.target !== rows[current]) return; // a focused link or button handles it
          go("data-review-url");
          break;
        case "a":
          go("data-approve-url");
          break;
        case "c":
          go("data-changes-url");
          break;
        default:
          return;
      }
      event.preventDefault();
    });
  };

  // Chromium's PDF viewer takes the focus once the document has loaded, which would throw a
  // keyboard user out of the sign-off form. Focus that moves into the document frame without
  // the pointer over it or a Tab key is handed back to where it was.
  const keepFocusFromDocumentFrame = (frame) => {
    let pointerOverFrame = false;
    let tabbed = false;
    let lastFocused = document.activeElement;
    frame.addEventListener("mouseenter", () => { pointerOverFrame = true; });
    frame.addEventListener("mouseleave", () => { pointerOverFrame = false; });
    document.addEventListener("keydown", (event) => { tabbed = event.key === "Tab"; }, true);
    document.addEventListener("focusin", (event) => {
      if (event.target !== frame) lastFocused = event.target;
    });
    window.addEventListener("blur", () => {
      window.setTimeout(() => {
        const stolen = document.activeElement === frame && !pointerOverFrame && !tabbed;
        if (stolen && lastFocused && lastFocused !== document.body) lastFocused.focus();
      }, 0);
    });
  };

  // The review page's fragment names what to focus: #approve (the sign-off section) or
  // #id_changes-comments (the change request). Browsers focus a focusable fragment target
  // themselves; this does the same where they do not.
  const focusReviewTarget = () => {
    const id = decodeURIComponent(window.location.hash.slice(1));
    const target = id ? document.getElementById(id) : null;
    if (target && (target.tabIndex >= 0 || target.hasAttribute("tabindex"))) target.focus();
  };

  document.addEventListener("DOMContentLoaded", () => {
    const table = document.getElementById("review-queue");
    if (table) initQueue(table);
    focusReviewTarget();
    const frame = document.querySelector("iframe.doc-frame");
    if (frame) keepFocusFromDocumentFrame(frame);
  });
})();
