// 上报 in the field (issues #6, #19, #20; docs/offline.md). No library here; the libraries come from npm via /vendor.
//
// 即知即改: ticking it shows the photos after the fix (then required: the browser asks before sending, keeping
// everything chosen) and before it; unticking hides them and lets go of the files chosen there.
//
// 获取当前位置: the phone's GPS (WGS-84) into the form. Over plain HTTP (not a secure origin) the browser refuses
// it: the page says so plainly and offers the map pin instead (static/pick_map.js; docs/offline.md).
//
// Sending (issue #20): the form is sent with fetch, so a refused report loses nothing — the server's reasons are
// put under their fields (web/ui/report.py `placed`) and every word typed and every photo chosen stays in the
// page, to be fixed and sent again. Without this script the form posts as a page (the server path).
//
// One report, one event (issue #20): the form's `submission` key is kept in the page's history entry
// (history.state), so a form come back to with Back (or reloaded) sends the key it sent before and the server
// answers with the event it already made (「该事件已上报」) instead of registering a second one. A new visit to
// 上报 is a new form with a new key. A key that went through is remembered for the tab (sessionStorage): the
// form come back to says which event it made.
//
// Photos shrunk on the phone (issue #20, docs/photos.md): a photo chosen is made at most 1920 px on its long side,
// JPEG quality 0.8 (browser-image-compression, npm, in a web worker), before anything is sent, so three photos go
// through a weak 4G line. Its EXIF goes with it (the library's preserveExif: 拍摄时间 and GPS, which the server
// reads for its flags; the orientation is applied to the pixels). A photo already small (≤ 300 KB), one the
// library cannot read, or one that would not get smaller is sent as it was. The server checks every upload as
// before.
//
// Without signal (issue #20, docs/offline.md): a report that cannot reach the server (no signal, or the sign-in
// expired) is kept on the phone with everything in it and the time it was made (window.eventflowDrafts, the
// /vendor/drafts.js bundle of web/frontend/src: IndexedDB through idb), listed here as 待发送 and sent with its
// key as soon as there is signal again; the list shows its event's number once it went through. One the server
// refuses when it arrives is opened here again to be fixed, photos and all.
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
  // GPS (and the camera, and the service worker) only on a secure origin: HTTPS, or localhost. Over plain HTTP
  // the page says so, and the map pin (static/pick_map.js) is the way to give the place.
  if (!window.isSecureContext) {
    document.querySelector("[data-testid=insecure]").hidden = false;
    if (button) button.hidden = true;
    return;
  }
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
  button.disabled = false;     // it comes disabled: a tap before this script ran would do nothing
})();
(function () {
  var form = document.querySelector("form[data-testid=report-form]");
  if (!form || !window.fetch || !window.FormData) return;
  var words = JSON.parse(form.dataset.words || "{}");
  var refused = document.querySelector("[data-testid=report-refused]");
  var progress = form.querySelector("[data-testid=report-progress]");
  var submit = form.querySelector("button[type=submit]");
  var keyInput = form.querySelector("input[name=submission]");
  var draftedInput = form.querySelector("input[name=drafted_at]");
  var sentNotice = document.querySelector("[data-testid=already-sent]");
  var onSpot = document.getElementById("handled_on_spot");
  var drafts = window.eventflowDrafts || null;            // none: no IndexedDB, or not this user's to report
  var busy = false, SENT = "eventflow.report.sent.";

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (all, name) { return name in values ? values[name] : all; });
  }
  function newKey() {                     // 128 random bits, base64url (crypto.randomUUID needs HTTPS)
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function remembered(key) {
    try { return JSON.parse(sessionStorage.getItem(SENT + key) || "null"); } catch (e) { return null; }
  }
  function remember(key, body) {
    try { sessionStorage.setItem(SENT + key, JSON.stringify({number: body.number, url: body.url})); } catch (e) { /* private mode */ }
  }
  function useKey(key) {
    history.replaceState(Object.assign({}, history.state, {submission: key}), "");
    keyInput.value = key;
  }
  // this history entry's key: the one it sent before, else a new one (a page served again from the phone's
  // cache carries an old key in its HTML: never reused for a new report)
  function adoptKey() {
    var state = history.state || {};
    useKey(state.submission || newKey());
    var sent = remembered(keyInput.value);
    sentNotice.hidden = !sent;
    if (sent) {
      var link = sentNotice.querySelector("a.event");
      link.href = sent.url;
      link.textContent = sent.number;
    }
  }
  adoptKey();
  window.addEventListener("pageshow", function (e) { if (e.persisted) adoptKey(); });   // back from bfcache

  // -- photos shrunk as they are chosen; a send waits for the shrinking under way -----------------------------
  var SMALL = 300 * 1024, shrinking = [];
  function size(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }
  function shrink(file) {
    if (!window.imageCompression || !/^image\/(jpeg|png|webp)$/.test(file.type) || file.size <= SMALL) {
      return Promise.resolve(file);
    }
    return window.imageCompression(file, {
      maxWidthOrHeight: 1920, initialQuality: 0.8, maxSizeMB: 1.5, fileType: "image/jpeg", preserveExif: true,
      useWebWorker: true, libURL: new URL(form.dataset.shrinkLib, location.href).href   // our own copy, no CDN
    }).then(function (blob) {
      if (blob.size >= file.size) return file;
      return new File([blob], file.name.replace(/\.[^.]*$/, "") + ".jpg", {type: "image/jpeg", lastModified: file.lastModified});
    }).catch(function () { return file; });       // cannot shrink it here: the original, the server checks it
  }
  function note(input) {
    var el = input.nextElementSibling;
    if (!el || !el.classList.contains("shrink-note")) {
      el = document.createElement("p");
      el.className = "help shrink-note";
      el.setAttribute("data-testid", "shrink-" + input.name);
      input.insertAdjacentElement("afterend", el);
    }
    return el;
  }
  form.querySelectorAll("input[type=file]").forEach(function (input) {
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files || []);
      if (!files.length || !window.DataTransfer || !window.imageCompression) return;
      var told = note(input);
      told.textContent = words.shrinking;
      var job = Promise.all(files.map(shrink)).then(function (out) {
        if (input.files.length !== files.length || input.files[0] !== files[0]) return;  // chosen again meanwhile
        var chosen = new DataTransfer(), before = 0, after = 0;
        out.forEach(function (f, i) { chosen.items.add(f); before += files[i].size; after += f.size; });
        input.files = chosen.files;                      // no change event: not shrunk twice
        told.textContent = after < before ? fill(words.shrunk, {before: size(before), after: size(after)}) : "";
      });
      shrinking.push(job);
      job.then(function () { shrinking.splice(shrinking.indexOf(job), 1); });
    });
  });
  function shrunk() { return Promise.all(shrinking.slice()); }

  // -- the reasons of a refusal, each under its field ({place: [reason, …]}); none: every place emptied -------
  function show(placed) {
    var first = null;
    form.querySelectorAll("[data-place]").forEach(function (spot) {
      var reasons = placed[spot.dataset.place] || [];
      spot.textContent = "";
      reasons.forEach(function (reason) {
        var p = document.createElement("p");
        p.className = "error";
        p.textContent = reason;
        spot.appendChild(p);
      });
      if (reasons.length && !first) first = spot;
    });
    refused.hidden = !first;
    return first;
  }
  function say(text) { progress.textContent = text || ""; }

  // a page of the form (a CSRF token that expired with a new sign-in): the fresh token, or null
  function freshToken() {
    return fetch(form.action, {credentials: "same-origin", headers: {Accept: "text/html"}, redirect: "manual"})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        var m = html && html.match(/name="csrf_token" value="([^"]+)"/);
        return m ? m[1] : null;
      }).catch(function () { return null; });
  }

  // one send of `data`: {kind: "sent"|"refused"|"signed_out"|"offline"|"failed", body, status}
  function send(data, retried) {
    if (navigator.onLine === false) return Promise.resolve({kind: "offline"});
    return fetch(form.action, {method: "POST", body: data, credentials: "same-origin", redirect: "manual",
                               headers: {Accept: "application/json"}})
      .then(function (r) {
        if (r.type === "opaqueredirect" || r.status === 401) return {kind: "signed_out"};
        if (r.status === 400 && !retried) {                   // the page expired (CSRF): once more, fresh
          return freshToken().then(function (token) {
            if (!token) return {kind: "signed_out"};
            form.querySelector("input[name=csrf_token]").value = token;
            data.set("csrf_token", token);
            return send(data, true);
          });
        }
        var json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        return (json ? r.json() : Promise.resolve(null)).then(function (body) {
          if (r.ok && body) return {kind: "sent", body: body};
          if (body && body.placed) return {kind: "refused", body: body, status: r.status};
          return {kind: "failed", status: r.status};
        });
      }, function () { return {kind: "offline"}; });          // no signal: nothing reached the server
  }

  // -- 待发送: kept on the phone ------------------------------------------------------------------------------
  function summary() {
    var type = form.elements.type_code;
    return {type: type && type.selectedIndex > 0 ? type.options[type.selectedIndex].text : "",
            description: form.elements.description.value, address: form.elements.address.value};
  }
  // the form as it is, kept on the phone; then a new, empty form (a new key) for the next report
  function keep(told) {
    var draft = drafts.fromForm(new FormData(form), drafts.user, summary());
    if (draftedInput.value) draft.created_at = draftedInput.value;   // a kept one opened again: made then
    return drafts.save(draft).then(function () {
      drafts.requestSync();
      fresh();
      say(told);
      status.textContent = told;
      render();
      document.querySelector("[data-testid=drafts]").scrollIntoView({block: "start"});
    });
  }
  function fresh() {
    form.reset();
    form.querySelectorAll(".shrink-note").forEach(function (el) { el.textContent = ""; });
    if (onSpot) onSpot.dispatchEvent(new Event("change"));
    draftedInput.value = "";
    show({});
    useKey(newKey());
    sentNotice.hidden = true;
  }
  // a kept report back into the form, to be fixed and sent (its key and the time it was made go with it)
  function open(key) {
    return drafts.get(key).then(function (draft) {
      if (!draft) return;
      fresh();
      draft.fields.forEach(function (pair) {
        var el = form.elements[pair[0]];
        if (!el || el.type === "file" || pair[0] === "csrf_token") return;
        if (el.type === "checkbox") el.checked = true;
        else el.value = pair[1];
      });
      var files = {};
      draft.files.forEach(function (f) {
        (files[f[0]] = files[f[0]] || []).push(new File([f[1]], f[2] || "photo.jpg", {type: f[1].type}));
      });
      Object.keys(files).forEach(function (name) {
        var input = form.elements[name], chosen = new DataTransfer();
        if (!input || !window.DataTransfer) return;
        files[name].forEach(function (f) { chosen.items.add(f); });
        input.files = chosen.files;
      });
      if (onSpot) onSpot.dispatchEvent(new Event("change"));
      useKey(draft.key);
      draftedInput.value = draft.created_at;
      if (draft.state !== "editing") draft.was = draft.state;
      draft.state = "editing";
      return drafts.save(draft).then(function () {
        var first = show(draft.placed || (draft.reasons && draft.reasons.length ? {form: draft.reasons} : {}));
        (first || form).scrollIntoView({block: "center"});
      });
    });
  }

  var section = document.querySelector("[data-testid=drafts]");
  var list = section.querySelector("ul");
  var sendButton = section.querySelector("[data-testid=send-drafts]");
  var status = section.querySelector("[data-testid=drafts-status]");
  function when(instant) { return instant.slice(5, 16).replace("T", " "); }   // 10-08 09:15, as the phone had it
  function item(draft) {
    var li = document.createElement("li");
    li.setAttribute("data-testid", "draft");
    li.dataset.state = draft.state;
    li.dataset.key = draft.key;
    var what = document.createElement("strong");
    what.textContent = draft.summary.description || draft.summary.type;
    var about = document.createElement("p");
    about.className = "help";
    about.textContent = [draft.summary.address, words.made_at + " " + when(draft.created_at),
                         fill(words.photo_count, {n: draft.state === "sent" ? draft.photos || 0 : draft.files.length})]
      .filter(Boolean).join(" · ");
    var state = document.createElement("p");
    state.className = "state";
    if (draft.state === "sent") {
      state.textContent = words.sent + " ";
      var link = document.createElement("a");
      link.href = draft.url;
      link.textContent = draft.number;
      state.appendChild(link);
    } else {
      state.textContent = draft.state === "refused" ? words.refused_draft + "：" + (draft.status === 413 ? words.too_large
        : draft.reasons.join("；")) : words[draft.state] || words.waiting;
      if (draft.state === "refused") state.className = "state error";
      [["open", function () { open(draft.key); }], ["delete", function () {
        if (confirm(words.confirm_delete)) drafts.remove(draft.key);
      }]].forEach(function (action) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = words[action[0]];
        button.addEventListener("click", action[1]);
        state.appendChild(document.createTextNode(" "));
        state.appendChild(button);
      });
    }
    li.appendChild(what);
    li.appendChild(about);
    li.appendChild(state);
    return li;
  }
  function render() {
    if (!drafts) return Promise.resolve();
    return drafts.list(drafts.user).then(function (items) {
      section.hidden = !items.length;
      list.textContent = "";
      items.forEach(function (d) { list.appendChild(item(d)); });
      sendButton.hidden = !items.some(function (d) { return d.state === "waiting"; });
      section.dataset.waiting = String(items.filter(function (d) { return d.state === "waiting"; }).length);
    }).catch(function () { section.hidden = true; });
  }
  // one opened into a form that was then left (not this form): back to what it was, to be sent or fixed
  function released() {
    return drafts.list(drafts.user).then(function (items) {
      return Promise.all(items.filter(function (d) { return d.state === "editing" && d.key !== keyInput.value; })
        .map(function (d) { d.state = d.was || "waiting"; return drafts.save(d); }));
    }).catch(function () { /* no IndexedDB */ });
  }
  if (drafts) {
    drafts.onChange(render);
    released().then(function () { if (drafts.count) drafts.count(); return render(); });
    sendButton.addEventListener("click", function () {
      sendButton.disabled = true;
      status.textContent = words.sending;
      drafts.sendNow().then(function (done) {
        status.textContent = done.signedOut && !done.sent ? (navigator.onLine === false ? words.still_offline : words.sign_in_first)
          : done.offline && !done.sent ? words.still_offline : fill(words.sent_count, {n: done.sent});
      }).then(function () { sendButton.disabled = false; render(); });
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (busy) return;                                         // one send at a time (a double tap)
    busy = true;
    submit.disabled = true;
    say(shrinking.length ? words.shrinking : words.sending);
    var stay = false;
    shrunk().then(function () {
      say(words.sending);
      return send(new FormData(form));
    }).then(function (answer) {
      if (answer.kind === "sent") {
        show({});
        say(answer.body.message);
        remember(keyInput.value, answer.body);
        stay = true;                                          // the page goes: no second tap meanwhile
        var leave = function () { location.assign(answer.body.url); };
        return drafts ? drafts.remove(keyInput.value).then(leave, leave) : leave();
      }
      if (answer.kind === "refused") {
        say("");
        var first = show(answer.body.placed);
        if (first) first.scrollIntoView({block: "center"});
      } else if (answer.kind === "offline" && drafts) {
        return keep(words.kept_offline);
      } else if (answer.kind === "signed_out" && drafts) {
        return keep(words.kept_signed_out);
      } else if (answer.kind === "signed_out") {
        say(words.signed_out);
      } else {
        say(answer.status === 413 ? words.too_large : words.failed);
      }
    }).catch(function () {
      say(words.failed);                                      // nothing lost: the form is as it was
    }).then(function () {
      if (stay) return;
      busy = false;
      submit.disabled = false;
    });
  });
})();
