// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // Confirm destructive or irreversible actions marked with data-confirm.
  document.body.addEventListener("submit", (event) => {
    const form = event.target;
    const question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // A table wider than its wrapper scrolls sideways inside it: the wrapper then becomes a
  // named region that takes the keyboard focus, so the arrow keys can scroll it (WCAG
  // 2.1.1). One that fits is left out of the tab order. Checked again on resize and after
  // htmx swaps in new content.
  const regionName = (wrap) => {
    const caption = wrap.querySelector("caption");
    const section = wrap.closest("section[aria-labelledby]");
    const heading = section && document.getElementById(section.getAttribute("aria-labelledby"));
    const name = (caption || heading || { textContent: "Table" }).textContent.trim();
    return `${name} (scrolls sideways)`;
  };
  const markScrollingTables = () => {
    document.querySelectorAll(".table-wrap").forEach((wrap) => {
      const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (scrolls && !wrap.hasAttribute("tabindex")) {
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", regionName(wrap));
      } else if (!scrolls && wrap.getAttribute("tabindex") === "0") {
        ["tabindex", "role", "aria-label"].forEach((name) => wrap.removeAttribute(name));
      }
    });
  };
  markScrollingTables();
  let pending = null;
  window.addEventListener("resize", () => {
    window.clearTimeout(pending);
    pending = window.setTimeout(markScrollingTables, 150);
  });
  document.body.addEventListener("htmx:afterSettle", markScrollingTables);
});
