// The live inbox's service worker (issue #18): a phone's browser shows a system notification only through a
// service worker (ServiceWorkerRegistration.showNotification; `new Notification` is refused there). It does
// nothing else: no caching, no fetch handling. A tap on the notification brings the app forward, at the
// task or message it names.
self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if ("navigate" in windows[i]) return windows[i].navigate(url).then(function (w) { return w && w.focus(); });
    }
    return self.clients.openWindow(url);
  }));
});
