// The event page's map (Leaflet: the community boundary and the point; tiles only if a source is set)
// and its process diagram (bpmn-js viewer, the current task marked). Both libraries come from npm via /vendor.
(function () {
  var mapBox = document.getElementById("map");
  if (mapBox && window.L) {
    fetch(mapBox.dataset.src, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
      var map = L.map(mapBox, {attributionControl: !!mapBox.dataset.tiles});
      if (mapBox.dataset.tiles) { L.tileLayer(mapBox.dataset.tiles, {maxZoom: 19}).addTo(map); }
      var layer = L.geoJSON(data, {
        style: function () { return {color: "#0b57d0", weight: 2, fillOpacity: 0.08}; },
        pointToLayer: function (feature, latlng) {
          return L.circleMarker(latlng, {radius: 8, color: "#d93025", fillColor: "#d93025", fillOpacity: 0.9});
        }
      }).addTo(map);
      if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds(), {padding: [12, 12]}); }
      mapBox.dataset.ready = String(data.features.length);
    });
  }

  // The diagram opens on the current task with its neighbours around it, drawn big enough to read on a phone
  // (issue #20: the whole of Figure 1 fitted into 360 px is drawn at 0.066); 全图 shows everything. It zooms by
  // the buttons, by a pinch (two fingers; one finger sideways pans it, up and down still scrolls the page) and,
  // at a desk, by ctrl + wheel or a trackpad pinch (bpmn-js's navigated viewer), and pans by dragging.
  var MIN_SCALE = 0.1, MAX_SCALE = 2, STEP = 1.25;
  var FOCUS_MIN = 0.6, FOCUS_MAX = 1, CONTEXT = 160;   // the current task: at least 0.6, 160 px of neighbours around
  var box = document.getElementById("diagram");
  if (box && window.BpmnJS) {
    fetch(box.dataset.src, {credentials: "same-origin"}).then(function (r) {
      var current = (r.headers.get("X-Current-Tasks") || "").split(",").filter(Boolean);
      return r.text().then(function (xml) { return {xml: xml, current: current}; });
    }).then(function (got) {
      var viewer = new BpmnJS({container: box});
      window.eventflowDiagram = viewer;
      return viewer.importXML(got.xml).then(function () {
        var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
        var marked = got.current.filter(function (id) {
          try { canvas.addMarker(id, "current-task"); return true; } catch (e) { return false; }
        }).map(function (id) { return registry.get(id); });
        box.dataset.current = got.current.join(",");
        var clamp = function (s, lo, hi) { return Math.max(lo, Math.min(hi, s)); };
        var focus = function () {
          if (!marked.length) { canvas.zoom("fit-viewport", "auto"); return; }
          var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
          marked.forEach(function (e) {
            x0 = Math.min(x0, e.x); y0 = Math.min(y0, e.y); x1 = Math.max(x1, e.x + e.width); y1 = Math.max(y1, e.y + e.height);
          });
          var outer = canvas.viewbox().outer;
          var scale = clamp(Math.min(outer.width / (x1 - x0 + 2 * CONTEXT), outer.height / (y1 - y0 + 2 * CONTEXT)),
                            FOCUS_MIN, FOCUS_MAX);
          var w = outer.width / scale, h = outer.height / scale;
          canvas.viewbox({x: (x0 + x1) / 2 - w / 2, y: (y0 + y1) / 2 - h / 2, width: w, height: h});
        };
        var zoomBy = function (factor, center) {
          canvas.zoom(clamp(canvas.zoom() * factor, MIN_SCALE, MAX_SCALE), center);
        };
        var tools = document.querySelector("[data-diagram-tools]");
        if (tools) {
          tools.hidden = false;
          tools.addEventListener("click", function (e) {
            var button = e.target.closest("button[data-zoom]");
            if (!button) { return; }
            var what = button.dataset.zoom;
            if (what === "in") { zoomBy(STEP); } else if (what === "out") { zoomBy(1 / STEP); }
            else if (what === "fit") { canvas.zoom("fit-viewport", "auto"); } else { focus(); }
          });
          if (!marked.length) { tools.querySelector("[data-zoom=current]").hidden = true; }
        }
        pinch(box, canvas, zoomBy);
        // a phone turned sideways (or a window resized): the same middle at the same scale, in the new size
        var middle = null;
        viewer.get("eventBus").on("canvas.viewbox.changed", function (e) {
          middle = {x: e.viewbox.x + e.viewbox.width / 2, y: e.viewbox.y + e.viewbox.height / 2, scale: e.viewbox.scale};
        });
        focus();
        window.addEventListener("resize", function () {
          if (!middle) { return; }
          var kept = middle;
          canvas.resized();
          var outer = canvas.viewbox().outer, w = outer.width / kept.scale, h = outer.height / kept.scale;
          canvas.viewbox({x: kept.x - w / 2, y: kept.y - h / 2, width: w, height: h});
        });
        box.dataset.ready = "1";
      });
    });
  }

  // Two fingers zoom around their midpoint and move the diagram with it; one finger moving sideways pans
  // it (the box's touch-action is pan-y, so the browser keeps vertical swipes for scrolling the page).
  function pinch(box, canvas, zoomBy) {
    var touches = new Map(), last = null;
    var spot = function () {
      var rect = box.getBoundingClientRect(), points = Array.from(touches.values());
      var mid = points.reduce(function (m, p) { return {x: m.x + p.x / points.length, y: m.y + p.y / points.length}; }, {x: 0, y: 0});
      var spread = points.length > 1 ? Math.hypot(points[0].x - points[1].x, points[0].y - points[1].y) : 0;
      return {x: mid.x - rect.left, y: mid.y - rect.top, spread: spread, count: points.length};
    };
    box.addEventListener("pointerdown", function (e) {
      if (e.pointerType !== "touch") { return; }
      touches.set(e.pointerId, {x: e.clientX, y: e.clientY});
      last = spot();
    });
    box.addEventListener("pointermove", function (e) {
      if (!touches.has(e.pointerId)) { return; }
      touches.set(e.pointerId, {x: e.clientX, y: e.clientY});
      var now = spot();
      if (last && now.count === last.count) {
        canvas.scroll({dx: now.x - last.x, dy: now.count > 1 ? now.y - last.y : 0});
        if (now.count > 1 && last.spread > 0) { zoomBy(now.spread / last.spread, {x: now.x, y: now.y}); }
        e.preventDefault();
      }
      last = now;
    });
    var lift = function (e) { touches.delete(e.pointerId); last = touches.size ? spot() : null; };
    box.addEventListener("pointerup", lift);
    box.addEventListener("pointercancel", lift);
  }
})();
