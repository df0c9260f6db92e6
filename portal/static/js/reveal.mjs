// Show a follow-up question only once the answer that needs it is chosen (the referral box under "Yes",
// the skip reason under a stage that skips one). GOV.UK Frontend's conditional reveal puts aria-expanded on
// the radio input, which axe-core reports as not allowed on a radio (WCAG 4.1.2), so the portal does it here:
// the box is hidden with the `hidden` attribute, and with no JavaScript every box is simply shown.
//
// Markup: <div data-reveal-name="to_stage" data-reveal-value="stage-3 stage-4"> ... </div> (any of the values)
export function initReveal(root = document) {
  for (const box of root.querySelectorAll("[data-reveal-name]")) {
    const name = box.dataset.revealName;
    const values = box.dataset.revealValue.split(" ");
    const form = box.closest("form");
    if (!form) continue;
    const update = () => {
      const chosen = form.querySelector(`input[name="${CSS.escape(name)}"]:checked`);
      box.hidden = !(chosen && values.includes(chosen.value));
    };
    for (const input of form.querySelectorAll(`input[name="${CSS.escape(name)}"]`)) {
      input.addEventListener("change", update);
    }
    update();
  }
}
