// The tile layers of the app's maps (web/ui/maps.py, docs/maps.md): the base layer of EVENTFLOW_MAP_TILES and, if
// set, a layer of labels over it (天地图's cva_w over vec_w), with `{s}` one of the subdomains and `{tk}` the key.
// Without tiles nothing is added: the maps draw their boundaries and points on a blank ground.
(function () {
  window.eventflowTiles = function (map, box) {
    var config = null;
    try { config = box.dataset.tiles ? JSON.parse(box.dataset.tiles) : null; } catch (e) { config = null; }
    if (!config || !config.url) return null;
    var options = {maxZoom: config.maxZoom || 18, subdomains: config.subdomains || "abc",
                   attribution: config.attribution || "", tk: config.key || ""};
    var layer = L.tileLayer(config.url, options).addTo(map);
    if (config.labels) { L.tileLayer(config.labels, options).addTo(map); }
    map.setMaxZoom(options.maxZoom);
    box.dataset.tileLayers = config.labels ? "2" : "1";
    return layer;
  };
})();
