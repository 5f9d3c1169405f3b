// Exports (issue #8): a link marked data-progress downloads through fetch, showing how much has arrived
// in the <progress> it names, then saves the file under the name the server gives; a link marked data-rows
// (issue #19) then says in the element it names how many rows the file holds (its X-Row-Count).
(function () {
  document.querySelectorAll("a[data-progress]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var bar = document.getElementById(link.dataset.progress);
      bar.hidden = false;
      bar.removeAttribute("value");
      // 后台生成 ticked (导出任务, issue #17): the server makes a job and answers with 我的导出
      var box = (link.closest("form") || document).querySelector("input[data-background]");
      var url = new URL(link.href);
      if (box && box.checked) url.searchParams.set("background", "1");
      fetch(url.toString(), { credentials: "same-origin" }).then(function (response) {
        if (!response.ok) throw new Error(response.status);
        if (response.redirected) { bar.hidden = true; window.location = response.url; return; }   // made a job
        var total = parseInt(response.headers.get("Content-Length") || "0", 10);
        var name = (/filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "") || [])[1] || "export";
        var reader = response.body.getReader(), chunks = [], received = 0;
        if (total) { bar.max = total; bar.value = 0; }
        function pump() {
          return reader.read().then(function (step) {
            if (step.done) return new Blob(chunks, { type: response.headers.get("Content-Type") || "" });
            chunks.push(step.value);
            received += step.value.length;
            if (total) bar.value = received;
            return pump();
          });
        }
        return pump().then(function (blob) {
          var a = document.createElement("a");
          a.href = URL.createObjectURL(blob);
          a.download = name;
          document.body.appendChild(a);
          a.click();
          setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
          bar.max = 1; bar.value = 1;
          bar.dataset.done = "1";
          var rows = link.dataset.rows && document.getElementById(link.dataset.rows);
          if (rows && response.headers.get("X-Row-Count") !== null) {
            rows.textContent = rows.dataset.word ? rows.dataset.word.replace("%s", response.headers.get("X-Row-Count"))
                                                 : response.headers.get("X-Row-Count");
          }
        });
      }).catch(function () { bar.hidden = true; window.location = url.toString(); });
    });
  });
})();
