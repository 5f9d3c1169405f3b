// 考核看板: the charts of the indicators (ECharts, served from the app's own origin).
(function () {
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var percent = function (v) { return v == null ? null : Math.round(v * 1000) / 10; };
  function chart(id, option) {
    var el = document.getElementById(id);
    var c = echarts.init(el, null, { renderer: "svg" });
    c.setOption(Object.assign({ animation: false }, option));
    el.dataset.ready = "1";
    window.addEventListener("resize", function () { c.resize(); });
    return c;
  }
  chart("chart-compare", {
    title: { text: "按期处置率、处置率、一次性处置率 (%)", textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis" }, legend: { bottom: 0 }, grid: { top: 40, bottom: 70 },
    xAxis: { type: "category", data: data.parties, axisLabel: { rotate: 30 } },
    yAxis: { type: "value", max: 100 },
    series: [
      { name: "按期处置率", type: "bar", data: data.on_time.map(percent) },
      { name: "处置率", type: "bar", data: data.disposal.map(percent) },
      { name: "一次性处置率", type: "bar", data: data.first_time.map(percent) }
    ]
  });
  chart("chart-trend", {
    title: { text: "近六个月", textStyle: { fontSize: 14 } }, tooltip: { trigger: "axis" }, legend: { bottom: 0 },
    grid: { top: 40, bottom: 50 }, xAxis: { type: "category", data: data.trend.map(function (p) { return p.month; }) },
    yAxis: { type: "value", max: 110, interval: 20 },
    series: [
      { name: "按期处置率", type: "line", connectNulls: true, symbolSize: 8, showSymbol: true, showAllSymbol: true,
        data: data.trend.map(function (p) { return percent(p.on_time_rate); }) },
      { name: "处置率", type: "line", connectNulls: true, symbolSize: 8, showSymbol: true, showAllSymbol: true,
        data: data.trend.map(function (p) { return percent(p.disposal_rate); }) }
    ]
  });
  var geo = { type: "FeatureCollection", features: data.map.features.map(function (f) {
    return { type: "Feature", geometry: f.geometry, properties: { name: f.properties.name } };
  }) };
  echarts.registerMap("communities", geo);
  var most = Math.max.apply(null, [1].concat(data.by_community.map(function (c) { return c.value; })));
  chart("chart-map", {
    title: { text: "各社区事件数", textStyle: { fontSize: 14 } }, tooltip: { trigger: "item" },
    visualMap: { min: 0, max: most, left: "left", bottom: 10, calculable: true },
    series: [{ name: "事件数", type: "map", map: "communities", data: data.by_community,
               label: { show: true } }]
  });
})();
