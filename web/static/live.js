// 实时待办与消息 (issue #18): the page listens to its live stream (GET /live, Server-Sent Events) from the
// feed position it was rendered at, so nothing made after it is missed; the browser reconnects by itself with
// Last-Event-ID when a stream ends. New 待办 and 消息 entries (rendered by the server as the lists render them)
// appear at the top of the list, the header's counts follow, and a short sound (WebAudio, no file) and a system
// notification say so — the notification only if the user allowed it, asked on a click of 开启提醒, never on
// load; nothing at all when muted (提醒：静音). Several tabs of one browser alert once per entry.
(function () {
  var body = document.body, url = body.dataset.liveUrl;
  if (!url || !window.EventSource) return;
  var button = document.querySelector("[data-testid=alerts]");
  var taskBadge = document.querySelector("[data-testid=task-count]");
  var noticeBadge = document.querySelector("[data-testid=notice-count]");
  var QUIET_KINDS = { new_report: true };
  var STATE = "eventflow.alerts", ALERTED = "eventflow.alerted", NEW_NOTICES = "eventflow.newNotices";
  var seen = {}, pending = [], flushing = null, audio = null;

  function stored(key) { try { return localStorage.getItem(key); } catch (e) { return null; } }
  function store(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* private mode */ } }

  // -- 提醒: "on", "muted", or not chosen yet (sound if the browser lets the page play it; no prompt) ---------
  function state() { return stored(STATE) || ""; }
  function render() {
    var now = state();
    button.hidden = false;
    button.textContent = now === "on" ? button.dataset.on : now === "muted" ? button.dataset.muted : button.dataset.ask;
    button.setAttribute("aria-pressed", now === "on" ? "true" : "false");
  }
  function unlockAudio() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context || state() === "muted") return;
    try {
      if (!audio) audio = new Context();
      if (audio.state === "suspended") audio.resume();
    } catch (e) { audio = null; }
  }
  button.addEventListener("click", function () {
    if (state() === "on") { store(STATE, "muted"); render(); return; }
    store(STATE, "on");
    render();
    unlockAudio();
    if ("Notification" in window && Notification.permission === "default") {
      Notification.requestPermission().then(function (answer) { if (answer === "granted") register(); });
    }
  });
  // browsers let a page play sound once the user has touched it: the first touch or key readies the sound
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });
  render();

  function chime() {
    unlockAudio();
    if (!audio) return;
    var t = audio.currentTime;
    [[880, 0], [660, 0.16]].forEach(function (note) {
      var tone = audio.createOscillator(), gain = audio.createGain();
      tone.type = "sine";
      tone.frequency.value = note[0];
      gain.gain.setValueAtTime(0.0001, t + note[1]);
      gain.gain.exponentialRampToValueAtTime(0.2, t + note[1] + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + note[1] + 0.14);
      tone.connect(gain);
      gain.connect(audio.destination);
      tone.start(t + note[1]);
      tone.stop(t + note[1] + 0.15);
    });
  }

  // one sound and one notification for what arrives together; none when muted; once across tabs
  function alertOf(item) {
    pending.push(item);
    if (!flushing) flushing = setTimeout(flush, 250);
  }
  function flush() {
    var items = pending, newest = Number(stored(ALERTED) || 0);
    pending = [];
    flushing = null;
    items = items.filter(function (item) { return item.feed > newest; });
    if (!items.length || state() === "muted") return;
    store(ALERTED, String(Math.max.apply(null, items.map(function (i) { return i.feed; }))));
    chime();
    button.dataset.alerts = String(Number(button.dataset.alerts || 0) + 1);
    var first = items[0], title = first.alert.title;
    if (items.length > 1) title += " (+" + (items.length - 1) + ")";
    notify(title, { body: first.alert.body, tag: "eventflow-" + first.feed, data: { url: first.alert.url } });
  }
  // a system notification if the user allowed them: the page's own, or a phone's through the service worker
  function notify(title, options) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      var shown = new Notification(title, options);
      shown.onclick = function () { window.focus(); location.href = options.data.url; shown.close(); };
    } catch (e) {
      if (worker) worker.then(function (registration) { if (registration) registration.showNotification(title, options); });
    }
  }
  var worker = null;
  function register() {
    if (!("serviceWorker" in navigator) || !window.isSecureContext || worker) return;
    worker = navigator.serviceWorker.register(body.dataset.liveWorker, { scope: body.dataset.liveWorkerScope })
      .catch(function () { return null; });
  }
  if ("Notification" in window && Notification.permission === "granted") register();

  // -- the lists and the counts ---------------------------------------------------------------------------
  function setText(selector, value) {
    var el = document.querySelector(selector);
    if (el) el.textContent = String(value);
  }
  function shownTasks(list) {
    setText("[data-testid=shown-count]", list.querySelectorAll("li.task").length);
  }
  function newNotices(n) {
    if (!noticeBadge) return;
    store(NEW_NOTICES, String(n));
    noticeBadge.textContent = String(n);
    noticeBadge.hidden = n === 0;
  }
  if (document.querySelector("ul.messages")) newNotices(0);     // 消息 read: nothing new
  else newNotices(Number(stored(NEW_NOTICES) || 0));

  function insert(list, html) {
    list.insertAdjacentHTML("afterbegin", html);
    list.firstElementChild.classList.add("live-new");
    var empty = list.parentNode.querySelector("p.empty");
    if (empty) empty.hidden = true;
  }
  // 待办 is in order of time left (issue #19): a new task goes to its place — or, if it comes after the last
  // one shown while a page follows, to that later page (not shown here)
  function insertTask(list, html) {
    insert(list, html);
    var entry = list.firstElementChild, order = entry.dataset.order || "";
    var after = Array.prototype.find.call(list.children, function (li) {
      return li !== entry && (li.dataset.order || "") > order;
    });
    if (after) list.insertBefore(entry, after);
    else if (list.dataset.more) entry.remove();
    else list.appendChild(entry);
  }
  function fresh(item) {          // an entry may come twice (a stream ended mid-way): once is enough
    if (seen[item.feed]) return false;
    seen[item.feed] = true;
    return true;
  }

  // the stream: the browser reconnects by itself when one ends (with Last-Event-ID); one that failed (a
  // restart's 502, the network gone) is opened again here after a pause that doubles, 5 s to 60 s, from the
  // cursor of the last `counts` received
  var since = body.dataset.liveSince, source = null, pause = 5000, ended = false;
  function connect() {
    source = new EventSource(url + (since ? "?since=" + encodeURIComponent(since) : ""));
    listen(source);
  }
  function listen(source) {
    source.addEventListener("open", function () { pause = 5000; });
    source.addEventListener("error", function () {
      if (source.readyState !== EventSource.CLOSED || ended) return;
      setTimeout(connect, pause);
      pause = Math.min(pause * 2, 60000);
    });
    source.addEventListener("work", function (e) {
      var item = JSON.parse(e.data);
      if (!fresh(item)) return;
      var list = document.querySelector("ul.tasks[data-live=on]");
      if (list && !list.querySelector('[data-task-id="' + CSS.escape(item.task.id) + '"]')) {
        insertTask(list, item.html);
        shownTasks(list);
      }
      alertOf(item);
    });
    source.addEventListener("done", function (e) {
      var item = JSON.parse(e.data), list = document.querySelector("ul.tasks");
      var entry = list && list.querySelector('[data-task-id="' + CSS.escape(item.task_id) + '"]');
      if (entry) {
        entry.remove();
        shownTasks(list);
      }
    });
    source.addEventListener("notice", function (e) {
      var item = JSON.parse(e.data);
      if (!fresh(item)) return;
      var list = document.querySelector("ul.messages[data-live=on]");
      if (list) {
        if (!list.querySelector('[data-notice-id="' + item.notice.id + '"]')) insert(list, item.html);
      } else if (!document.querySelector("ul.messages")) {
        newNotices(Number(stored(NEW_NOTICES) || 0) + 1);
      }
      // a new report's notice (§4.1) comes with the 核实 or 分拨 task it makes, which has its own alert
      if (!item.notice || !QUIET_KINDS[item.notice.kind]) alertOf(item);
    });
    source.addEventListener("counts", function (e) {
      var counts = JSON.parse(e.data);
      if (e.lastEventId) since = e.lastEventId;
      if (taskBadge) taskBadge.textContent = String(counts.tasks);
      if (document.querySelector("ul.tasks[data-live=on]")) setText("[data-testid=total-count]", counts.tasks);
    });
    source.addEventListener("end", function () {      // signed out or expired: stop, and say so
      ended = true;
      source.close();
      var notice = document.querySelector("[data-testid=live-ended]");
      if (notice) notice.hidden = false;
    });
  }
  connect();
  window.addEventListener("storage", function (e) {  // another tab muted, or read 消息
    if (e.key === STATE) render();
    if (e.key === NEW_NOTICES && noticeBadge) newNotices(Number(e.newValue || 0));
  });
  body.dataset.liveReady = "1";
})();
