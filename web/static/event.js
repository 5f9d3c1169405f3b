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
  var box = document.getElementById("diagram");
  if (box && window.BpmnJS) {
    fetch(box.dataset.src, {credentials: "same-origin"}).then(function (r) {
      var current = (r.headers.get("X-Current-Tasks") || "").split(",").filter(Boolean);
      return r.text().then(function (xml) { return {xml: xml, current: current}; });
    }).then(function (got) {
      var viewer = new BpmnJS({container: box});
      return viewer.importXML(got.xml).then(function () {
        var canvas = viewer.get("canvas");
        canvas.zoom("fit-viewport");
        got.current.forEach(function (id) { try { canvas.addMarker(id, "current-task"); } catch (e) {} });
        box.dataset.current = got.current.join(",");
      });
    });
  }
})();
