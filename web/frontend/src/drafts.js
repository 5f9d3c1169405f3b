// 待发送: reports kept on the phone while it has no signal (issue #20, docs/offline.md), shared by the pages
// (drafts-page.js) and the service worker (sw.js). A draft is stored in IndexedDB (idb, npm) with everything
// the form held — its fields, its photos as Blobs, its `submission` key — the time it was made (`created_at`,
// sent as `drafted_at`) and whose it is (the signed-in user's id: another person's drafts on a shared phone are
// never sent under this one's name). Sending posts it as the form does; the key makes it one event however
// often it is sent (a lost answer, the page and the worker at once): the server answers the event it made.
import { openDB } from "idb";

const DB = "eventflow-field";
const STORE = "drafts";
const KEEP_SENT_MS = 7 * 24 * 3600 * 1000;        // a sent one stays listed (with its number) for a week
const LOCK = "eventflow-drafts";

function db() {
  return openDB(DB, 1, {
    upgrade(database) {
      const store = database.createObjectStore(STORE, { keyPath: "key" });
      store.createIndex("user", "user");
    },
  });
}

/** Now as the phone's local time with its offset: 2026-10-08T09:15:00+08:00. */
export function localInstant(date = new Date()) {
  const pad = (n) => String(Math.abs(Math.trunc(n))).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:` +
    `${pad(date.getMinutes())}:${pad(date.getSeconds())}${offset >= 0 ? "+" : "-"}${pad(offset / 60)}:${pad(offset % 60)}`;
}

/** A form's content as a draft: its fields (no CSRF token: a fresh one is fetched when it is sent) and files. */
export function fromForm(formData, user, summary) {
  const fields = [], files = [];
  for (const [name, value] of formData.entries()) {
    if (name === "csrf_token" || name === "drafted_at") continue;
    if (typeof value === "string") fields.push([name, value]);
    else if (value.size || value.name) files.push([name, value, value.name]);
  }
  const key = (fields.find(([name]) => name === "submission") || [])[1];
  return { key, user: String(user), created_at: localInstant(), fields, files, summary, state: "waiting",
    reasons: [], number: null, url: null, sent_at: null };
}

export async function save(draft) {
  const database = await db();
  const before = await database.get(STORE, draft.key);
  if (before) draft.created_at = before.created_at;      // made when it was first kept, not when fixed
  await database.put(STORE, draft);
  changed();
  return draft;
}

export async function get(key) {
  return (await db()).get(STORE, key);
}

export async function remove(key) {
  await (await db()).delete(STORE, key);
  changed();
}

/** This user's drafts, oldest first; sent ones a week old are let go. */
export async function list(user) {
  const database = await db();
  const all = await database.getAllFromIndex(STORE, "user", String(user));
  const now = Date.now();
  for (const d of all) {
    if (d.state === "sent" && d.sent_at && now - Date.parse(d.sent_at) > KEEP_SENT_MS) await database.delete(STORE, d.key);
  }
  return all.filter((d) => !(d.state === "sent" && d.sent_at && now - Date.parse(d.sent_at) > KEEP_SENT_MS))
    .sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
}

export async function waitingCount(user) {
  return (await list(user)).filter((d) => d.state === "waiting").length;
}

// tell the pages of this phone (and this page) that the list changed
function changed() {
  try {
    const channel = new BroadcastChannel(LOCK);
    channel.postMessage("changed");
    channel.close();
  } catch (e) { /* no BroadcastChannel: the page re-reads after its own sends */ }
  if (typeof document !== "undefined") document.dispatchEvent(new CustomEvent("eventflow:drafts"));
}

export function onChange(callback) {
  try { new BroadcastChannel(LOCK).onmessage = callback; } catch (e) { /* see changed() */ }
  if (typeof document !== "undefined") document.addEventListener("eventflow:drafts", callback);
}

// one sender at a time on this phone (the pages and the worker): the Web Locks API where the origin is secure
let sendingHere = null;
function exclusively(work) {
  if (typeof navigator !== "undefined" && navigator.locks && navigator.locks.request) {
    return navigator.locks.request(LOCK, work);
  }
  if (!sendingHere) sendingHere = Promise.resolve(work()).finally(() => { sendingHere = null; });
  return sendingHere;
}

/** Who is signed in here, with a fresh CSRF token; null when nobody is (or no signal). */
async function signedIn(sessionUrl) {
  try {
    const r = await fetch(sessionUrl, { credentials: "same-origin", redirect: "manual", headers: { Accept: "application/json" } });
    return r.ok ? await r.json() : null;
  } catch (e) {
    return null;
  }
}

/**
 * Send this phone's waiting drafts of whoever is signed in: {sent, refused, offline, signedOut}. A draft that
 * went through is marked sent with its event's number (its photos let go); one the server refused keeps
 * everything, with the reasons, for the person to open and fix; no signal leaves it waiting.
 */
export function sendWaiting({ reportUrl, sessionUrl }) {
  return exclusively(async () => {
    const done = { sent: 0, refused: 0, offline: false, signedOut: false };
    const who = await signedIn(sessionUrl);
    if (!who) {
      done.offline = true;
      done.signedOut = true;
      return done;
    }
    const waiting = (await list(who.user)).filter((d) => d.state === "waiting");
    for (const draft of waiting) {
      const body = new FormData();
      for (const [name, value] of draft.fields) body.append(name, value);
      for (const [name, blob, filename] of draft.files) body.append(name, blob, filename || "photo.jpg");
      body.set("csrf_token", who.csrf_token);
      body.set("drafted_at", draft.created_at);
      let r;
      try {
        r = await fetch(reportUrl, { method: "POST", body, credentials: "same-origin", redirect: "manual",
          headers: { Accept: "application/json", "X-Eventflow-Background": "1" } });
      } catch (e) {
        done.offline = true;                  // the signal went again: the rest wait too
        break;
      }
      if (r.type === "opaqueredirect" || r.status === 401) { done.signedOut = true; break; }
      const answer = (r.headers.get("Content-Type") || "").startsWith("application/json") ? await r.json() : null;
      const current = await get(draft.key);
      if (!current) continue;                 // deleted meanwhile
      if (r.ok && answer) {
        Object.assign(current, { state: "sent", number: answer.number, url: answer.url, sent_at: new Date().toISOString(),
          files: [], photos: current.files.length, reasons: [] });
        done.sent += 1;
      } else if (answer && answer.placed) {
        Object.assign(current, { state: "refused", placed: answer.placed, reasons: Object.values(answer.errors || {}),
          status: r.status });
        done.refused += 1;
      } else if (r.status === 413) {          // too large to be taken: to be opened and sent with fewer photos
        Object.assign(current, { state: "refused", reasons: [], status: 413 });
        done.refused += 1;
      } else {
        continue;                             // the server could not answer now (5xx, a proxy): try again later
      }
      await (await db()).put(STORE, current);
      changed();
    }
    return done;
  });
}
