// 迁移: move the picked instances in batches, one request each, and show the progress (issue #7).
(function () {
  var box = document.getElementById("migration");
  var button = document.getElementById("start-migration");
  if (!box || !button) return;
  var bar = document.getElementById("migration-progress");
  var status = document.getElementById("migration-status");
  var size = parseInt(box.dataset.batch, 10) || 10;

  button.addEventListener("click", function () {
    var ids = Array.prototype.map.call(box.querySelectorAll("input.pick:checked"), function (el) {
      return parseInt(el.value, 10);
    });
    if (!ids.length) return;
    button.disabled = true;
    bar.max = ids.length;
    bar.value = 0;
    var moved = 0, refused = 0;

    function next(start) {
      if (start >= ids.length) {
        status.textContent = box.dataset.done.replace("{moved}", moved).replace("{refused}", refused);
        return;
      }
      fetch(box.dataset.migrate, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": box.dataset.csrf},
        body: JSON.stringify({instances: ids.slice(start, start + size)})
      }).then(function (response) { return response.json(); }).then(function (body) {
        (body.items || []).forEach(function (item) {
          var row = box.querySelector('tr[data-instance="' + item.instance_id + '"] td.verdict');
          if (item.moved) { moved += 1; if (row) row.textContent = box.dataset.moved.replace("{version}", item.to_version); }
          else { refused += 1; if (row) row.textContent = box.dataset.refused.replace("{reasons}", (item.reasons || []).join("；")); }
        });
        bar.value = Math.min(start + size, ids.length);
        status.textContent = bar.value + " / " + ids.length;
        next(start + size);
      }).catch(function () { status.textContent = box.dataset.failed; button.disabled = false; });
    }
    next(0);
  });
})();
