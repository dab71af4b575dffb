// camket console: keyboard shortcuts on a submission, a reason before a
// rejection, a print button. Everything works without it.
(function () {
  "use strict";
  function typing(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("review-form");
    if (form) {
      var comment = document.getElementById("comment");
      var reject = form.querySelector("button[value=reject]");
      reject.addEventListener("click", function (event) {
        if (!comment.value.trim()) {
          event.preventDefault();
          comment.setCustomValidity(reject.getAttribute("data-needs-reason"));
          comment.reportValidity();
          comment.focus();
        }
      });
      comment.addEventListener("input", function () { comment.setCustomValidity(""); });
      document.addEventListener("keydown", function (event) {
        if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
        var key = event.key.toLowerCase();
        if (key === "a") { event.preventDefault(); form.querySelector("button[value=approve]").click(); }
        else if (key === "r") { event.preventDefault(); if (comment.value.trim()) { reject.click(); } else { comment.focus(); } }
        else if (key === "i") { event.preventDefault(); form.querySelector("button[value=has_issues]").click(); }
      });
    }
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
      if (event.key.toLowerCase() === "n") {
        var next = document.querySelector("a[rel=next]");
        if (next) { event.preventDefault(); next.click(); }
      }
    });
    var print = document.querySelector("[data-print]");
    if (print) { print.addEventListener("click", function () { window.print(); }); }
  });
})();
