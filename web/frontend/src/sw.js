// eventflow's one service worker, scope "/" (issue #20, docs/offline.md; it took over the live inbox's worker of
// issue #18). Built from npm's Workbox and idb by esbuild (web/frontend: npm run build); served at /sw.js by
// web/ui/report.py, which puts before it the app shell's files with their revisions (__EVENTFLOW_PRECACHE) and
// the pages to keep (__EVENTFLOW_PAGES).
//
// - The app shell: the CSS, the scripts and the libraries 上报 needs are precached; the 上报 page itself is
//   fetched from the network first and kept (a signed-in answer only, with the map pin's boundaries), so it
//   opens without signal; any other
//   page asked for without signal answers the offline page, which leads to 上报. Signing out or in forgets the
//   pages.
// - 待发送: the background sync "eventflow-drafts" sends the reports kept on the phone (drafts.js).
// - The live inbox's system notifications: a tap brings the app forward at the task or message it names.
// Nothing else is cached: 待办, events and their photos always come from the server.
import { clientsClaim } from "workbox-core";
import { cleanupOutdatedCaches, precacheAndRoute } from "workbox-precaching";
import { registerRoute, setCatchHandler } from "workbox-routing";
import { NetworkFirst } from "workbox-strategies";
import { CacheableResponsePlugin } from "workbox-cacheable-response";
import { sendWaiting } from "./drafts.js";

const PAGES = "eventflow-pages";
const pages = Object.assign({ keep: [], data: [], offline: null, report: null, session: null },
  self.__EVENTFLOW_PAGES || {});

self.skipWaiting();
clientsClaim();
cleanupOutdatedCaches();
precacheAndRoute(self.__EVENTFLOW_PRECACHE || []);

const keep = new NetworkFirst({
  cacheName: PAGES,
  networkTimeoutSeconds: 6,                      // a signal too weak to answer: the kept page
  plugins: [new CacheableResponsePlugin({ statuses: [200] })],   // never a redirect to the sign-in page
});
registerRoute(({ request, url }) => request.mode === "navigate" && pages.keep.includes(url.pathname), keep);
registerRoute(({ request, url }) => request.mode !== "navigate" && pages.data.includes(url.pathname), keep);   // the map pin's

// the pages to open without signal, kept as soon as the worker is installed (by the signed-in user's page)
self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(PAGES).then((cache) => Promise.all(
    [...pages.keep, ...pages.data, pages.offline].filter(Boolean).map((url) => fetch(url, { credentials: "same-origin", redirect: "manual" })
      .then((r) => (r.ok ? cache.put(url, r) : null)).catch(() => null)))));
});

// signing out or in forgets the kept pages: they carry the user's name and whose drafts the form keeps, so a
// page kept for one (whose session ended without signing out) never opens offline for the next to sign in
registerRoute(({ url }) => (pages.signout && url.pathname === pages.signout)
  || (pages.signin && url.pathname === pages.signin), async ({ request }) => {
  await caches.delete(PAGES);
  return fetch(request);
}, "POST");

// no signal for any other page: the offline page (with its way to 上报)
setCatchHandler(async ({ request }) => {
  if (request.mode === "navigate" && pages.offline) {
    const kept = await caches.match(pages.offline, { cacheName: PAGES });
    if (kept) return kept;
  }
  return Response.error();
});
registerRoute(({ request, url }) => request.mode === "navigate" && !pages.keep.includes(url.pathname),
  ({ request }) => fetch(request));

self.addEventListener("sync", (event) => {
  if (event.tag !== "eventflow-drafts" || !pages.report) return;
  event.waitUntil(sendWaiting({ reportUrl: pages.report, sessionUrl: pages.session }).then((done) => {
    if (done.offline && !done.signedOut) throw new Error("no signal yet: the browser tries again");
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
    for (const w of windows) {
      if ("navigate" in w) return w.navigate(url).then((opened) => opened && opened.focus());
    }
    return self.clients.openWindow(url);
  }));
});
