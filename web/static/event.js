// The event page's map (Leaflet: the community boundary, the point, the 到场 check-ins with their distance and the
// other open events nearby coloured by type; tiles only if a source is set: map_tiles.js) and its process diagram
// (bpmn-js viewer, the current task marked). Both libraries come from npm via /vendor. Text goes in as text.
(function () {
  var mapBox = document.getElementById("map");
  // one colour per type: Table A.1's categories in the catalog's order (data-categories) each their own, anything
  // else (an Appendix B matter) by a hash of its name — the same type always gets the same colour
  var PALETTE = ["#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4", "#b15928",
                 "#6a3d9a", "#33a02c", "#fb9a99", "#b2df8a", "#cab2d6", "#ff7f00", "#8dd3c7", "#bc80bd"];
  var categories = mapBox ? JSON.parse(mapBox.dataset.categories || "[]") : [];
  function colourOf(name) {
    var at = categories.indexOf(name), h = 0;
    if (at >= 0) return PALETTE[at % PALETTE.length];
    for (var i = 0; i < name.length; i++) { h = (h * 31 + name.charCodeAt(i)) >>> 0; }
    return PALETTE[h % PALETTE.length];
  }
  function el(parent, tag, text, cls) {
    var node = document.createElement(tag);
    if (text != null) node.textContent = text;
    if (cls) node.className = cls;
    parent.appendChild(node);
    return node;
  }
  // a tooltip's words as text: Leaflet puts a string in as HTML
  function textOf(text) {
    var node = document.createElement("span");
    node.textContent = text;
    return node;
  }
  function swatch(parent, colour, text, testid) {
    var item = el(parent, "span", null, "legend-item");
    var dot = el(item, "span", null, "legend-dot");
    dot.style.background = colour;
    el(item, "span", text);
    if (testid) item.dataset.testid = testid;
    return item;
  }
  if (mapBox && window.L) {
    var words = JSON.parse(mapBox.dataset.words || "{}");
    var legend = mapBox.parentNode.querySelector("[data-testid=map-legend]");
    fetch(mapBox.dataset.src, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
      var map = L.map(mapBox, {attributionControl: !!mapBox.dataset.tiles});
      if (window.eventflowTiles) { window.eventflowTiles(map, mapBox); }
      var point = null, kinds = {}, seen = {};
      data.features.forEach(function (f) { kinds[f.properties.kind] = (kinds[f.properties.kind] || 0) + 1;
        if (f.properties.kind === "event") point = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]); });
      var layer = L.geoJSON(data, {
        style: function (f) {
          return f.properties.kind === "event" ? {color: "#fff", weight: 2, fillColor: "#d93025", fillOpacity: 1}
                                               : {color: "#0b57d0", weight: 2, fillOpacity: 0.08};
        },
        filter: function (f) { return f.properties.kind !== "neighbour" && f.properties.kind !== "arrival"; },
        pointToLayer: function (feature, latlng) {
          return L.circleMarker(latlng, {radius: 9, color: "#fff", weight: 2, fillColor: "#d93025", fillOpacity: 1});
        },
        onEachFeature: function (feature, shape) {
          if (feature.properties.kind === "event") shape.bindTooltip(textOf(words.event + " " + feature.properties.name));
          if (feature.properties.kind === "community") shape.bindTooltip(textOf(feature.properties.name || words.community));
        }
      }).addTo(map);
      var around = L.geoJSON({type: "FeatureCollection", features: data.features.filter(function (f) {
        return f.properties.kind === "neighbour"; })}, {
        pointToLayer: function (feature, latlng) {
          var colour = colourOf(feature.properties.type_name || "");
          seen[feature.properties.type_name] = colour;
          var marker = L.circleMarker(latlng, {radius: 7, color: "#333", weight: 1, fillColor: colour, fillOpacity: 0.9,
                                               className: "neighbour"});
          marker.bindTooltip(textOf(feature.properties.type_name));
          return marker;
        },
        onEachFeature: function (feature, marker) {
          var p = feature.properties, div = document.createElement("div");
          el(div, "strong", p.number + " · " + p.type_name);
          if (p.stage) el(div, "div", p.stage);
          if (p.address) el(div, "div", p.address, "meta");
          if (p.description) el(div, "div", p.description);
          el(div, "div", words.metres.replace("{n}", Math.round(p.distance_m)), "meta");
          var link = el(div, "a", words.open);
          link.href = mapBox.dataset.eventUrl.replace(/\/0$/, "/" + p.event_id);
          marker.bindPopup(div);
        }
      }).addTo(map);
      var arrivals = L.geoJSON({type: "FeatureCollection", features: data.features.filter(function (f) {
        return f.properties.kind === "arrival"; })}, {
        pointToLayer: function (feature, latlng) {
          var p = feature.properties;
          var marker = L.marker(latlng, {icon: L.divIcon({className: "arrival-pin" + (p.far ? " far" : ""), iconSize: [18, 18],
                                                           html: ""}), keyboard: false});
          var said = p.distance_m != null ? words.pin.replace("{n}", Math.round(p.distance_m)) : words.arrival;
          marker.bindTooltip(textOf(said), {permanent: true, direction: "right", offset: [10, 0], className: "arrival-label"});
          return marker;
        }
      });
      // the event with what is around it (its check-ins, its neighbours) fills the map; alone, its community does
      var bounds = point ? L.latLngBounds([point, point]) : L.latLngBounds([]);
      if (arrivals.getLayers().length) bounds.extend(arrivals.getBounds());
      if (around.getLayers().length) bounds.extend(around.getBounds());
      if (!point || bounds.getNorthEast().equals(bounds.getSouthWest())) bounds = layer.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds, {padding: [24, 24], maxZoom: 17}); }
      else { map.setView([27.52, 120.6], 13); }
      arrivals.eachLayer(function (marker) {           // a dashed line from the event to where they checked in
        if (point) L.polyline([point, marker.getLatLng()], {color: marker.feature.properties.far ? "#b3261e" : "#6a1b9a",
                                                           weight: 2, dashArray: "6 6", interactive: false}).addTo(map);
      });
      arrivals.addTo(map);                // its labels stay open: placed once the map has its view
      if (legend) {
        if (kinds.event) swatch(legend, "#d93025", words.event);
        if (kinds.community) swatch(legend, "#0b57d0", words.community);
        data.features.forEach(function (f) {
          if (f.properties.kind !== "arrival") return;
          var p = f.properties;
          swatch(legend, p.far ? "#b3261e" : "#6a1b9a", (p.far ? words.far : words.arrival) + "：" +
                 [p.unit_name, p.person_name].filter(Boolean).join(" ") +
                 (p.distance_m != null ? "，" + words.metres.replace("{n}", Math.round(p.distance_m)) : ""), "arrival-distance");
        });
        var count = kinds.neighbour || 0;
        el(legend, "div", (count ? words.neighbours.replace("{n}", count) : words.none).replace("{r}", data.radius_m),
           "legend-note").dataset.testid = "neighbour-count";
        Object.keys(seen).sort().forEach(function (name) { swatch(legend, seen[name], name, "neighbour-type"); });
      }
      mapBox.dataset.neighbours = String(kinds.neighbour || 0);
      mapBox.dataset.arrivals = String(kinds.arrival || 0);
      mapBox.dataset.ready = String((kinds.community || 0) + (kinds.event || 0));
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
          if (!(outer.width > 0 && outer.height > 0)) { return; }
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
        var middle = null, drawn = function (outer) { return outer.width > 0 && outer.height > 0; };
        viewer.get("eventBus").on("canvas.viewbox.changed", function (e) {
          var v = e.viewbox;
          if (drawn(v.outer) && v.scale > 0 && isFinite(v.scale)) {
            middle = {x: v.x + v.width / 2, y: v.y + v.height / 2, scale: v.scale};
          }
        });
        focus();
        window.addEventListener("resize", function () {
          if (!middle) { return; }
          var kept = middle;
          canvas.resized();
          var outer = canvas.viewbox().outer, w = outer.width / kept.scale, h = outer.height / kept.scale;
          if (!drawn(outer)) { return; }          // not laid out (hidden, or mid-resize): nothing to keep
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
