/* eHub: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // "Copy" buttons: <button data-copy="#input-id" data-copied="Copied" hidden>.
  function enableCopyButtons(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      if (!navigator.clipboard || button.dataset.copyReady) return;
      button.dataset.copyReady = "1";
      button.hidden = false;
      button.addEventListener("click", function () {
        var target = document.querySelector(button.getAttribute("data-copy"));
        if (!target) return;
        navigator.clipboard.writeText(target.value || target.textContent).then(function () {
          button.textContent = button.getAttribute("data-copied") || button.textContent;
        });
      });
    });
  }

  // Move focus to an error summary so screen readers announce it after a failed submit.
  function focusErrors(root) {
    var summary = root.querySelector(".error-summary");
    if (summary) summary.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    enableCopyButtons(document);
    focusErrors(document);
  });
  document.addEventListener("htmx:load", function (event) {
    enableCopyButtons(event.target);
  });
})();
