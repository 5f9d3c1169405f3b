// 获取当前位置: the phone's GPS (WGS-84) into the report form. No library, no network.
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
