// Save a long form's answers as the writer types (docs/threats.md#property-19): a timeout or a closed tab then
// loses seconds, not an hour. The server keeps them encrypted and unchecked; "Continue" still checks them.
const QUIET_MS = 3000;

export function initAutosave() {
  for (const form of document.querySelectorAll("form[data-autosave-url]")) {
    let timer = null;
    const save = () => {
      timer = null;
      // Same-origin POST with the page's CSRF token (it is one of the form's fields).
      fetch(form.dataset.autosaveUrl, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .catch(() => {});
    };
    form.addEventListener("input", () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(save, QUIET_MS);
    });
    // Leaving the page (or the timeout warning signing out): save what is there now.
    window.addEventListener("pagehide", () => {
      if (timer) {
        clearTimeout(timer);
        navigator.sendBeacon(form.dataset.autosaveUrl, new FormData(form));
      }
    });
  }
}
