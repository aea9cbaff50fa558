// A button marked data-copy-from="<id>" copies that field's value to the clipboard and
// says so in its live region; without JavaScript (or clipboard access) the field stays
// selectable by hand.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-copy-from]").forEach((button) => {
    const field = document.getElementById(button.getAttribute("data-copy-from"));
    const status = document.getElementById(button.getAttribute("data-copy-status"));
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
        if (status) status.textContent = "Address copied.";
      } catch (error) {
        if (status) status.textContent = "Copy did not work here: the address is selected, press Ctrl+C.";
      }
    });
  });
});
