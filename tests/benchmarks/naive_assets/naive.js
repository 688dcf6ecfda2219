/* The naive choropleth of the benchmark (tests/benchmarks/naive_app.py): the value travels
   in each feature's properties, so every indicator change re-sends the whole GeoJSON. */
window.naive = {
  style: function (feature, context) {
    const h = (context && context.hideout) || {};
    const v = feature.properties.value;
    const base = {weight: 1, color: "#333333", opacity: 0.9, fillOpacity: 0.85};
    if (v === null || v === undefined) {
      return Object.assign(base, {fillColor: "#9e9e9e"});
    }
    const breaks = h.breaks || [];
    let k = 0;
    while (k < breaks.length && v > breaks[k]) { k += 1; }
    return Object.assign(base, {fillColor: (h.colors || [])[k] || "#cccccc"});
  }
};
