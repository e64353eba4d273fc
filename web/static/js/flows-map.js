// Where goods leak: territories shaded by the violations found in them, outlined where
// goods were expected to stay, and an arrow per flow (expected -> found), wider for more.
(function () {
  const element = document.getElementById("flows-map");
  if (!element) return;
  const map = L.map(element, { attributionControl: false, worldCopyJump: true }).setView([0, 0], 1);
  fetch(element.dataset.src, { credentials: "same-origin" })
    .then((response) => response.json())
    .then((data) => {
      const most = Math.max(1, ...data.features.map((f) => f.properties.found_in));
      const layer = L.geoJSON(data, {
        style: (feature) => {
          const found = feature.properties.found_in;
          return {
            color: feature.properties.out_of ? "#fd7e14" : "#dc3545",
            dashArray: feature.properties.out_of ? "4 3" : null,
            weight: 2,
            fillColor: "#dc3545",
            fillOpacity: found ? 0.15 + 0.6 * (found / most) : 0.05,
          };
        },
        onEachFeature: (feature, shape) => {
          const p = feature.properties;
          shape.bindTooltip(`${p.name}: ${p.found_in} ${element.dataset.labelFound}, ${p.out_of} ${element.dataset.labelOut}`);
        },
      }).addTo(map);
      const widest = Math.max(1, ...data.flows.map((f) => f.violations));
      data.flows.forEach((flow) => {
        const from = L.latLng(flow.from_at[1], flow.from_at[0]);
        const to = L.latLng(flow.to_at[1], flow.to_at[0]);
        L.polyline([from, to], { color: "#212529", weight: 2 + 6 * (flow.violations / widest), opacity: 0.7 })
          .bindTooltip(`${flow.from} → ${flow.to}: ${flow.violations}`).addTo(map);
        L.circleMarker(to, { radius: 4 + 4 * (flow.violations / widest), color: "#212529", fillOpacity: 1 }).addTo(map);
      });
      if (data.features.length) map.fitBounds(layer.getBounds(), { padding: [20, 20], animate: false });
      element.dataset.territories = data.features.length;
      element.dataset.flows = data.flows.length;
      element.dataset.loaded = "true";
    });
})();
