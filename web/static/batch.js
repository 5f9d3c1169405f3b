// 批量签收 (issue #19): the 签收受理 checkboxes of 待办 belong to the form #batch-accept (their `form` attribute).
// The form shows while the list has some (the live inbox may add or remove them), counts the ones picked, and
// 全选 picks them all. Without this script the form still submits what is picked.
(function () {
  var form = document.getElementById("batch-accept");
  if (!form) return;
  var button = form.querySelector("button[type=submit]"), count = form.querySelector("[data-batch-count]");
  var all = form.querySelector("[data-batch-all]");

  function picks() {
    return document.querySelectorAll("input[form=batch-accept][name=task_ids]");
  }

  function update() {
    var boxes = picks(), picked = 0;
    boxes.forEach(function (box) { if (box.checked) picked += 1; });
    form.hidden = boxes.length === 0;
    count.textContent = String(picked);
    button.disabled = picked === 0;
    all.checked = boxes.length > 0 && picked === boxes.length;
  }

  document.addEventListener("change", function (e) {
    if (e.target === all) {
      picks().forEach(function (box) { box.checked = all.checked; });
    }
    if (e.target === all || e.target.matches("input[form=batch-accept]")) update();
  });
  var list = document.querySelector("ul.tasks");
  if (list && window.MutationObserver) new MutationObserver(update).observe(list, {childList: true});
  update();
})();
