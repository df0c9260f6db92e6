// The session timeout warning (WCAG 2.2.1 Timing Adjustable; the GOV.UK / HMRC timeout dialog pattern).
//
// base.html renders a native <dialog data-module="app-timeout-warning"> on signed-in pages, configured by
// data attributes:
//   data-seconds-left     seconds until the server's idle timeout, as of this page load
//   data-idle-seconds     the full idle timeout, which "Stay signed in" restarts
//   data-warning-seconds  how long before the timeout to open the dialog
//   data-keep-alive-url   POST here (with the CSRF token) to restart the timeout; answers 204
//   data-sign-in-url      where to go once the session has expired
//   data-csrf-token       sent as the X-CSRFToken header
// No inline script: this module is loaded from init.mjs under the Content-Security-Policy.

const SECOND = 1000;
// Navigate only once the server has certainly expired the session (clock and network slack).
const GRACE_MS = 1500;

function describe(seconds) {
  if (seconds >= 60) {
    const minutes = Math.ceil(seconds / 60);
    return minutes === 1 ? "1 minute" : `${minutes} minutes`;
  }
  return seconds === 1 ? "1 second" : `${seconds} seconds`;
}

export class TimeoutWarning {
  constructor(dialog) {
    this.dialog = dialog;
    const data = dialog.dataset;
    this.idleSeconds = Number(data.idleSeconds);
    this.warningSeconds = Number(data.warningSeconds);
    this.keepAliveUrl = data.keepAliveUrl;
    this.signInUrl = data.signInUrl;
    this.csrfToken = data.csrfToken;
    this.countdown = dialog.querySelector("[data-timeout-countdown]");
    this.stayButton = dialog.querySelector("[data-timeout-stay]");
    this.timers = [];
    this.ticker = null;
    this.returnFocusTo = null;

    this.stayButton.addEventListener("click", () => this.staySignedIn());
    // Escape closes a modal dialog: treat it as "Stay signed in", as the HMRC pattern does.
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      this.staySignedIn();
    });
    // Timers in background tabs are throttled: check the wall clock when the tab is seen again.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.check();
    });
    this.schedule(Number(data.secondsLeft));
  }

  schedule(secondsLeft) {
    this.timers.forEach((timer) => clearTimeout(timer));
    this.expiresAt = Date.now() + secondsLeft * SECOND;
    const warnIn = Math.max(0, secondsLeft - this.warningSeconds) * SECOND;
    this.timers = [
      setTimeout(() => this.open(), warnIn),
      setTimeout(() => this.expire(), secondsLeft * SECOND + GRACE_MS),
    ];
  }

  secondsLeft() {
    return Math.max(0, Math.ceil((this.expiresAt - Date.now()) / SECOND));
  }

  check() {
    if (Date.now() >= this.expiresAt + GRACE_MS) {
      this.expire();
    } else if (this.secondsLeft() <= this.warningSeconds) {
      this.open();
    }
  }

  open() {
    if (this.dialog.open) return;
    this.returnFocusTo = document.activeElement;
    this.update();
    this.ticker = setInterval(() => this.update(), SECOND);
    this.dialog.showModal();
    // Focus the dialog itself so screen readers announce its title and text before the buttons.
    this.dialog.focus();
  }

  update() {
    this.countdown.textContent = describe(this.secondsLeft());
  }

  close() {
    clearInterval(this.ticker);
    this.ticker = null;
    if (this.dialog.open) this.dialog.close();
    if (this.returnFocusTo && typeof this.returnFocusTo.focus === "function") {
      this.returnFocusTo.focus();
    }
    this.returnFocusTo = null;
  }

  async staySignedIn() {
    let response;
    try {
      response = await fetch(this.keepAliveUrl, {
        method: "POST",
        headers: { "X-CSRFToken": this.csrfToken },
        credentials: "same-origin",
        cache: "no-store",
        redirect: "manual",
      });
    } catch {
      // Offline for a moment: keep the dialog open so the user can try again before the timeout.
      return;
    }
    if (response.status === 204) {
      this.close();
      this.schedule(this.idleSeconds);
    } else {
      // Already signed out (a redirect to sign in) or the form token was refused.
      this.expire();
    }
  }

  expire() {
    this.timers.forEach((timer) => clearTimeout(timer));
    clearInterval(this.ticker);
    window.location.assign(this.signInUrl);
  }
}

export function initTimeoutWarning(root = document) {
  const dialog = root.querySelector('[data-module="app-timeout-warning"]');
  if (!dialog || typeof dialog.showModal !== "function") return null;
  return new TimeoutWarning(dialog);
}
