// Initialise GOV.UK Frontend components (error summary focus, character
// count, etc.). Loaded as <script type="module" src="/static/js/init.mjs">
// so no inline script is needed under the Content-Security-Policy.
// Resolves to /static/govuk/govuk-frontend.min.js, built by `make assets`.
import { initAll } from "../govuk/govuk-frontend.min.js";
import { initTimeoutWarning } from "./timeout-warning.mjs";
import { initAutosave } from "./autosave.mjs";
import { initReveal } from "./reveal.mjs";

initAll();
// Signed-in pages only: warn before the idle timeout and offer to stay signed in.
initTimeoutWarning();
// Long forms: save what is typed every few seconds.
initAutosave();
// Follow-up questions appear once the answer that needs them is chosen.
initReveal();
