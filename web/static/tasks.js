// 待办: each task's time limit counts down on the page (issue #6). The server's "now" (which may be a
// simulated clock) is the start; the browser's clock only measures how much time has passed since.
(function () {
  var list = document.querySelector("ul.tasks");
  if (!list || !list.dataset.now) return;
  var offset = Date.parse(list.dataset.now) - Date.now();
  var units = (list.dataset.units || "天|小时|分").split("|");

  function words(ms) {
    var minutes = Math.floor(Math.round(Math.abs(ms) / 1000) / 60);   // whole seconds first: no drift of a few ms
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), mins = minutes % 60;
    var text = (days ? days + units[0] : "") + (hours ? hours + units[1] : "") + mins + units[2];
    return (ms >= 0 ? list.dataset.left : list.dataset.over).replace("{t}", text);
  }

  function tick() {
    var now = Date.now() + offset;
    list.querySelectorAll("[data-due]").forEach(function (el) {
      el.textContent = words(Date.parse(el.dataset.due) - now);
    });
  }

  tick();
  setInterval(tick, 30000);
})();
