// Work-product upload with a progress bar. Progressive enhancement: without JavaScript (or
// without XMLHttpRequest/FormData) the form posts normally and the server re-renders it with
// any error, keeping the note. With it, the form is sent by XMLHttpRequest so the upload's
// progress can be shown; the server answers JSON ({redirect} or {errors}) and nothing typed
// is lost on an error.
(() => {
  "use strict";

  const formatBytes = (bytes) => {
    const units = ["bytes", "KB", "MB", "GB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
  };

  const showErrors = (form, messages) => {
    const box = form.querySelector("[data-upload-errors]");
    if (!box) return;
    box.textContent = "";
    const list = document.createElement("ul");
    list.className = "errorlist";
    messages.forEach((message) => {
      const item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
    });
    box.appendChild(list);
  };

  const enhance = (form) => {
    const input = form.querySelector('input[type="file"]');
    const progressBox = form.querySelector("[data-upload-progress]");
    const bar = progressBox && progressBox.querySelector("progress");
    const percent = progressBox && progressBox.querySelector("[data-upload-percent]");
    const button = form.querySelector('button[type="submit"]');
    if (!input || !progressBox || !bar || !button) return;

    const reset = () => {
      button.disabled = false;
      progressBox.hidden = true;
      bar.value = 0;
      if (percent) percent.textContent = "";
    };

    form.addEventListener("submit", (event) => {
      const file = input.files && input.files[0];
      if (!file) return; // the browser (or the server) says a file is required
      const limit = Number(input.dataset.maxBytes || 0);
      if (limit && file.size > limit) {
        event.preventDefault();
        showErrors(form, [`The file is ${formatBytes(file.size)}; the limit is ${formatBytes(limit)}.`]);
        input.focus();
        return;
      }
      event.preventDefault();
      showErrors(form, []);
      const request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("Accept", "application/json");
      request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      let lastAnnounced = 0;
      request.upload.addEventListener("progress", (progress) => {
        if (!progress.lengthComputable) return;
        const done = Math.floor((100 * progress.loaded) / progress.total);
        bar.value = done;
        // Announce every 25% rather than every tick, so screen readers are not flooded.
        if (percent && (done - lastAnnounced >= 25 || done === 100)) {
          lastAnnounced = done;
          percent.textContent = `${done}%`;
        }
      });
      request.addEventListener("load", () => {
        let answer = null;
        try {
          answer = JSON.parse(request.responseText);
        } catch (_error) {
          answer = null;
        }
        if (request.status >= 200 && request.status < 300 && answer && answer.redirect) {
          window.location.assign(answer.redirect);
          return;
        }
        reset();
        showErrors(form, (answer && answer.errors) || [
          `The upload was refused (HTTP ${request.status}). Nothing was stored; try again.`,
        ]);
        input.focus();
      });
      const failed = () => {
        reset();
        showErrors(form, ["The upload did not reach the server. Nothing was stored; check the connection and try again."]);
      };
      request.addEventListener("error", failed);
      request.addEventListener("abort", failed);
      button.disabled = true;
      progressBox.hidden = false;
      request.send(new FormData(form));
    });
  };

  document.addEventListener("DOMContentLoaded", () => {
    if (!window.XMLHttpRequest || !window.FormData) return;
    document.querySelectorAll("form[data-upload]").forEach(enhance);
  });
})();
