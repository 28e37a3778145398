// Small behaviours that CSP forbids inline. htmx does the rest.
(function () {
  "use strict";
  // Select the invitation link on focus so it can be copied.
  document.addEventListener("focusin", function (e) {
    if (e.target.classList && e.target.classList.contains("copy")) e.target.select();
  });
  // Validation answers (400, 422) carry the form with its error messages: show them. htmx 2 leaves
  // every 4xx unswapped by default, which would make a rejected form look like nothing happened.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var status = e.detail.xhr.status;
    if (status === 400 || status === 422) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
})();
