// A task's form (web/ui/tasks.py `task`) sent with fetch, so a refused submission keeps everything typed and
// every photo chosen (issue #20): the page is not reloaded, the server answers where each reason goes
// ({errors: {field path: reason}, stray: [reasons naming no field]}, already in the reader's language) and they
// are shown beside the fields (as web/ui/forms.py renders them). Accepted, or no longer to be done: the server
// says where to go. Without this script (or if the answer is no JSON) the form posts as a page, as before.
(function () {
  var form = document.querySelector("form.taskform");
  if (!form || !window.fetch || !window.FormData) return;
  var summary = form.querySelector("[data-testid=form-refused]");
  var strays = form.querySelector("[data-testid=form-stray]");

  function clear() {
    // the reasons shown before (by the server's page, or by this script): all but the summary line
    form.querySelectorAll("p.error:not([data-testid=form-refused])").forEach(function (p) { p.remove(); });
    form.querySelectorAll("[aria-invalid=true]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    strays.replaceChildren();
    summary.hidden = true;
  }

  function error(text, id) {
    var p = document.createElement("p");
    p.className = "error";
    p.dataset.shownBy = "script";
    if (id) p.id = id;
    p.textContent = text;
    return p;
  }

  function fieldOf(path) {
    var found = null;
    form.querySelectorAll("[data-field], [data-path]").forEach(function (el) {
      if (!found && (el.dataset.field === path || el.dataset.path === path)) found = el;
    });
    return found;
  }

  function show(answer) {
    clear();
    var first = null;
    Object.keys(answer.errors || {}).forEach(function (path) {
      var field = fieldOf(path);
      if (!field) { (answer.stray = answer.stray || []).push(answer.errors[path]); return; }
      // a group (radio, checkboxes, an object, rows) shows it inside its fieldset, as the server does
      var box = field.matches("fieldset") ? field : (field.querySelector(":scope > fieldset") || field);
      var id = "f-" + path.replace(/\./g, "-") + "-error";
      box.appendChild(error(answer.errors[path], id));
      form.querySelectorAll("[name]").forEach(function (input) {
        if (input.name === path || input.name.indexOf(path + ".") === 0) input.setAttribute("aria-invalid", "true");
      });
      first = first || field;
    });
    (answer.stray || []).forEach(function (text) { strays.appendChild(error(text)); });
    summary.hidden = false;
    (first || summary).scrollIntoView({block: "center"});
    summary.focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    fetch(form.action || window.location.href, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: {"Accept": "application/json"}
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (!json) throw new Error("not JSON");
      return response.json();
    }).then(function (answer) {
      if (answer.redirect) { window.location.assign(answer.redirect); return; }
      if (button) button.disabled = false;
      show(answer);
    }).catch(function () {
      // the page way: the server answers the form as a page (today's path)
      form.submit();
    });
  });
})();
