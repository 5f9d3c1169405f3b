// 待办 on a map (issue #19): the user's open work as points at their events' places, coloured by light (Leaflet
// from npm via /vendor, as on the event page; tiles only if a source is set: map_tiles.js), each with a popup that opens the task.
// Text goes in as text, never as HTML.
(function () {
  var box = document.getElementById("tasks-map");
  if (!box || !window.L) return;
  var words = JSON.parse(box.dataset.words || "{}");
  var colours = {red: "#d93025", yellow: "#e0a800", green: "#2e9d48", paused: "#9aa0a6", none: "#59636e"};
  var note = box.parentNode.querySelector("[data-testid=map-note]");

  function line(parent, tag, text, cls) {
    var el = document.createElement(tag);
    el.textContent = text;
    if (cls) el.className = cls;
    parent.appendChild(el);
    return el;
  }

  function popup(p) {
    var div = document.createElement("div");
    line(div, "strong", p.title);
    line(div, "div", p.event_number + " · " + p.type_name);
    if (p.address) line(div, "div", p.address, "meta");
    line(div, "div", (words[p.light] || p.light) + (p.due_at ? " · " + words.due + " " + p.due_at.slice(0, 16).replace("T", " ") : ""));
    var link = line(div, "a", words.open);
    link.href = box.dataset.taskUrl.replace("TASK", encodeURIComponent(p.task_id));
    return div;
  }

  fetch(box.dataset.src, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
    var map = L.map(box, {attributionControl: !!box.dataset.tiles});
    if (window.eventflowTiles) { window.eventflowTiles(map, box); }      // map_tiles.js: the settings' tile layers
    L.geoJSON({type: "FeatureCollection", features: data.areas || []}, {
      style: function () { return {color: "#0b57d0", weight: 2, fillOpacity: 0.05, interactive: false}; }
    }).addTo(map);
    var layer = L.geoJSON(data, {
      pointToLayer: function (feature, latlng) {
        var colour = colours[feature.properties.light] || colours.none;
        return L.circleMarker(latlng, {radius: 8, color: "#fff", weight: 2, fillColor: colour, fillOpacity: 0.95});
      },
      onEachFeature: function (feature, marker) { marker.bindPopup(popup(feature.properties)); }
    }).addTo(map);
    // A popup that must pan into view is read and tapped once the pan is over: data-popup says when (and lets the
    // browser walk wait for it instead of tapping a moving link).
    var panning = false;
    map.on("autopanstart", function () { panning = true; box.dataset.popup = "moving"; });
    map.on("moveend", function () { if (panning) { panning = false; box.dataset.popup = "open"; } });
    map.on("popupopen", function () { if (!panning) box.dataset.popup = "open"; });
    map.on("popupclose", function () { delete box.dataset.popup; });
    if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds(), {padding: [16, 16], maxZoom: 17}); }
    else { map.setView([27.52, 120.6], 13); }          // 龙港 (nothing to show: the town, not the whole world)
    var said = [];
    if (!data.features.length) said.push(words.empty);
    if (data.more) said.push(words.more.replace("{n}", data.more));
    if (data.unplaced) said.push(words.unplaced.replace("{n}", data.unplaced));
    if (note && said.length) { note.textContent = said.join("；"); note.hidden = false; }
    box.dataset.ready = String(data.features.length);
  });
})();
