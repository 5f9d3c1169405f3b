// 在地图上选点 on the 上报 form (issue #20, docs/offline.md): where the phone's GPS cannot be had — the page opened
// over plain HTTP, indoors, GPS refused — the place is picked on a Leaflet map of the user's community (its
// boundary from /report/map.json; tiles only if EVENTFLOW_MAP_TILES is set, as on the event page). A tap sets
// 纬度 and 经度 (WGS-84, what Leaflet and the boundaries use). Leaflet (npm, via /vendor) is loaded on the
// first tap only, so a weak line does not carry it for a report that does not need it; the service worker
// keeps it for without signal.
(function () {
  var button = document.getElementById("pick"), box = document.getElementById("pick-map");
  var form = document.querySelector("form[data-testid=report-form]");
  if (!button || !box || !form) return;
  var words = JSON.parse(form.dataset.words || "{}");
  var lat = document.getElementById("lat"), lng = document.getElementById("lng");
  var map = null, marker = null, loading = null;
  var HOME = [27.52, 120.60];          // 龙港: the map's centre before the boundary arrives (or without signal)

  function load(tag, attrs) {        // a <link> or <script>, resolved when it has loaded
    return new Promise(function (resolve, reject) {
      var el = document.createElement(tag);
      Object.keys(attrs).forEach(function (name) { el[name] = attrs[name]; });
      el.onload = resolve;
      el.onerror = reject;
      document.head.appendChild(el);
    });
  }
  function leaflet() {                // its CSS before the map is drawn: the panes are placed by it
    if (!loading) {
      loading = Promise.all([load("link", {rel: "stylesheet", href: box.dataset.leafletCss}),
                             load("script", {src: box.dataset.leafletJs})])
        .catch(function (e) { loading = null; throw e; });
    }
    return loading;
  }
  function typed() {
    var a = parseFloat(lat.value), b = parseFloat(lng.value);
    return isFinite(a) && isFinite(b) && Math.abs(a) <= 90 && Math.abs(b) <= 180 ? L.latLng(a, b) : null;
  }
  function mark(where) {
    if (marker) marker.setLatLng(where);
    else marker = L.circleMarker(where, {radius: 9, color: "#d93025", fillColor: "#d93025", fillOpacity: 0.9}).addTo(map);
  }
  function place(where) {
    lat.value = where.lat.toFixed(6);
    lng.value = where.lng.toFixed(6);
    mark(where);
    box.dataset.picked = lat.value + "," + lng.value;
    map.getContainer().setAttribute("aria-label", (words.picked || "%(lat)s, %(lng)s")
      .replace("%(lat)s", lat.value).replace("%(lng)s", lng.value));
  }
  function draw() {
    map = L.map(box, {attributionControl: !!box.dataset.tiles}).setView(typed() || HOME, 15);
    if (box.dataset.tiles) L.tileLayer(box.dataset.tiles, {maxZoom: 19}).addTo(map);
    map.getContainer().setAttribute("aria-label", words.pick_hint || "");
    map.on("click", function (e) { place(e.latlng); });
    if (typed()) mark(typed());
    fetch(box.dataset.src, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
      var layer = L.geoJSON(data, {interactive: false,
                                   style: function () { return {color: "#0b57d0", weight: 2, fillOpacity: 0.08}; }}).addTo(map);
      if (!typed() && layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), {padding: [12, 12]});
      box.dataset.ready = String(data.features.length);
    }).catch(function () { box.dataset.ready = "0"; });   // no signal, nothing kept: the map without a boundary
  }
  button.addEventListener("click", function () {
    box.hidden = !box.hidden;
    button.setAttribute("aria-expanded", String(!box.hidden));
    if (box.hidden) return;
    leaflet().then(function () {
      if (!map) draw();
      else {
        map.invalidateSize();
        if (typed()) { mark(typed()); map.panTo(typed()); }
      }
    }, function () { box.hidden = true; });
  });
})();
