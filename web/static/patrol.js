// 巡查打卡 (§9.2): 其他网格 opens a field to type a grid the community's catalog does not list yet (the select's
// data-other names that option's value); 获取当前位置 fills the position from the phone's GPS.
(function () {
  "use strict";
  var select = document.querySelector("select#grid"), other = document.getElementById("grid-other-field");
  if (select && other) {
    var sync = function () {
      other.hidden = select.value !== select.dataset.other;
      document.getElementById("grid_other").required = !other.hidden;
    };
    select.addEventListener("change", sync);
    sync();
  }
  // the button comes disabled: a tap before this script ran would do nothing
  var locate = document.getElementById("locate");
  if (!navigator.geolocation) { locate.hidden = true; return; }
  locate.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (p) {
      document.getElementById("lat").value = p.coords.latitude.toFixed(6);
      document.getElementById("lng").value = p.coords.longitude.toFixed(6);
      document.getElementById("position").textContent = p.coords.latitude.toFixed(5) + ", " + p.coords.longitude.toFixed(5);
    });
  });
  locate.disabled = false;
})();
