// 获取当前位置: the phone's GPS (WGS-84) into the report form. No library, no network.
// 即知即改: ticking it shows the photos after the fix (then required: the browser asks before sending, keeping
// everything chosen) and before it; unticking hides them and lets go of the files chosen there.
(function () {
  var box = document.getElementById("handled_on_spot");
  if (!box) return;
  var details = document.getElementById("on-spot-details"), after = document.getElementById("after_photos");
  function follow() {
    details.hidden = !box.checked;
    after.required = box.checked;
    if (!box.checked) {
      after.value = "";
      document.getElementById("before_photos").value = "";
    }
  }
  box.addEventListener("change", follow);
  follow();
})();
(function () {
  var button = document.getElementById("locate");
  if (!button || !navigator.geolocation) { if (button) button.hidden = true; return; }
  button.addEventListener("click", function () {
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("lat").value = pos.coords.latitude.toFixed(6);
      document.getElementById("lng").value = pos.coords.longitude.toFixed(6);
      button.disabled = false;
    }, function (err) {
      button.disabled = false;
      alert(button.dataset.failed || ("定位失败：" + err.message));
    }, {enableHighAccuracy: true, timeout: 15000});
  });
})();
