// Small behaviours that CSP forbids inline. htmx does the rest.
(function () {
  "use strict";
  // Select the invitation link on focus so it can be copied.
  document.addEventListener("focusin", function (e) {
    if (e.target.classList && e.target.classList.contains("copy")) e.target.select();
  });
})();
