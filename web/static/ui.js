// The pages' small behaviours, wired from data attributes: the Content-Security-Policy (web/headers.py) runs
// scripts from the app's own files only, so no page carries an inline script or an `onclick=`.
// - data-autosubmit on a select: its form is sent when it changes (督办's status, the modeler's file);
// - data-print on a button: the page is printed (打印 / 存为 PDF, 吹哨令);
// - data-confirm on a button or link: it goes ahead only when the person confirms the question it holds (终止).
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target.closest && event.target.closest("[data-autosubmit]");
    if (field && field.form) field.form.submit();
  });
  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("[data-print], [data-confirm]");
    if (!target) return;
    if (target.hasAttribute("data-print")) {
      window.print();
    } else if (!window.confirm(target.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
