// Every page of a user who may 上报 (issue #20, docs/offline.md): the 上报 link's badge counts this phone's
// reports waiting to be sent (待发送); they are sent as soon as the phone has signal again (the `online`
// event, or any page opened with signal), and by the service worker's background sync where the browser has
// it, with the page closed. The service worker (/sw.js: the app shell for 上报 offline, the sync, the live
// inbox's notifications) is registered here where the origin is secure (HTTPS or localhost).
import * as drafts from "./drafts.js";

(function () {
  const badge = document.querySelector("[data-testid=draft-count]");
  if (!badge) return;
  const urls = { reportUrl: badge.dataset.report, sessionUrl: badge.dataset.session };
  const user = badge.dataset.user;
  let registration = null;

  if ("serviceWorker" in navigator && window.isSecureContext && badge.dataset.worker) {
    registration = navigator.serviceWorker.register(badge.dataset.worker, { scope: "/" }).catch(() => null);
  }

  async function count() {
    try {
      const n = await drafts.waitingCount(user);
      badge.textContent = String(n);
      badge.hidden = n === 0;
    } catch (e) { /* no IndexedDB (a private window): nothing kept, nothing to count */ }
  }
  function sendNow() {
    return drafts.sendWaiting(urls).then((done) => { count(); return done; });
  }
  async function sendIfAny() {
    if (navigator.onLine === false) return;
    try {
      if (await drafts.waitingCount(user)) await sendNow();
    } catch (e) { /* see count() */ }
  }
  /** Ask the service worker to send when the signal is back, even with the page closed. */
  function requestSync() {
    if (!registration) return Promise.resolve(false);
    return registration.then((r) => (r && r.sync ? r.sync.register("eventflow-drafts").then(() => true) : false))
      .catch(() => false);
  }

  window.eventflowDrafts = Object.assign({}, drafts, { user, urls, sendNow, requestSync, count });
  drafts.onChange(count);
  window.addEventListener("online", sendIfAny);
  count();
  sendIfAny();
  document.body.dataset.draftsReady = "1";
})();
