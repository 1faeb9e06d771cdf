/* The console's few behaviours in the browser (no inline scripts):

   - "Valitse kaikki" / "Select all": one button ([data-select-all]) in every list form.
     It ticks every row ([data-row]) and sets the form's select_all to 1 where the form
     has one (the service then takes every row of the list, also those on other pages);
     unticking a row makes it a selection of the ticked rows. [data-selected-count]
     shows how many are selected.
   - The outcome of an action ([data-outcome]: a run's summary, "reminders created",
     "invoices sent", a replay's message) is scrolled to the top of the screen and
     focused as soon as it appears, whether htmx swapped it in or a page load brought
     it, so the clerk (and a screen reader) is where the result is, not below the list.
   - The Sending tab's step 21 -> 23: "Lähetä laskut sähköpostilla" ([data-send-step])
     opens the send step (the preview switch and "Lähetä laskut"), focused.
   - A form with [data-ask] (deleting a draft) asks its question first and is sent only
     when the clerk agrees (an attribute, not an inline onsubmit: the CSP forbids those). */
(function () {
  "use strict";

  function setCount(form, value) {
    var count = form.querySelector("[data-selected-count]");
    if (count) { count.textContent = value; }
  }

  function selectAll(button) {
    var form = button.form || button.closest("form");
    if (!form) { return; }
    form.querySelectorAll("input[type=checkbox][data-row]").forEach(function (box) { box.checked = true; });
    var all = form.querySelector("input[name=select_all]");
    if (all) { all.value = "1"; }
    var count = form.querySelector("[data-selected-count]");
    if (count) { setCount(form, count.dataset.total); }
  }

  // [data-send-step=open] opens the step (again: it stays open) and focuses its first
  // control; [data-send-step=close] closes it and goes back to the opener
  function sendStep(button) {
    var id = button.getAttribute("aria-controls");
    var panel = document.getElementById(id);
    var opener = document.querySelector("[data-send-step=open][aria-controls='" + id + "']");
    if (!panel || !opener) { return; }
    var open = button.dataset.sendStep === "open";
    panel.hidden = !open;
    opener.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      var first = panel.querySelector("input, button");
      if (first) { first.focus(); }
    } else {
      opener.focus();
    }
  }

  document.addEventListener("click", function (event) {
    if (!event.target.closest) { return; }
    var button = event.target.closest("[data-select-all]");
    if (button) { selectAll(button); return; }
    var step = event.target.closest("[data-send-step]");
    if (step) { sendStep(step); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-ask]") && !window.confirm(form.dataset.ask)) {
      event.preventDefault();
    }
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[type=checkbox][data-row]")) { return; }
    var form = box.form || box.closest("form");
    if (!form) { return; }
    var all = form.querySelector("input[name=select_all]");
    if (all) { all.value = "0"; }
    setCount(form, form.querySelectorAll("input[type=checkbox][data-row]:checked").length);
  });

  function showOutcome(root) {
    if (!root || !root.querySelector) { return; }
    var outcome = root.matches("[data-outcome]") ? root : root.querySelector("[data-outcome]");
    if (!outcome || outcome.dataset.outcomeShown) { return; }
    outcome.dataset.outcomeShown = "1";
    outcome.scrollIntoView({ block: "start" });
    outcome.focus({ preventScroll: true });
  }

  // htmx: for every piece of content it swapped in (and for the body once it has started)
  document.addEventListener("htmx:load", function (event) { showOutcome(event.detail.elt); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { showOutcome(document.body); });
  } else {
    showOutcome(document.body);
  }
})();
