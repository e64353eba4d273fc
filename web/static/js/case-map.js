// The case map: the expected territories (green), the territory where the goods were
// found (red) and each evidence scan with its accuracy circle (blue), from the case's
// GeoJSON. No tile server unless one is configured: territories are their own outlines.
(function () {
  const element = document.getElementById("case-map");
  if (!element) return;
  const map = L.map(element, { worldCopyJump: true, attributionControl: false }).setView([0, 0], 1);
  if (element.dataset.tiles) L.tileLayer(element.dataset.tiles, { maxZoom: 18 }).addTo(map);
  const styles = {
    expected: { color: "#198754", weight: 2, fillOpacity: 0.25 },
    found: { color: "#dc3545", weight: 2, fillOpacity: 0.2 },
  };
  fetch(element.dataset.src, { credentials: "same-origin" })
    .then((response) => response.json())
    .then((collection) => {
      const counts = { expected: 0, found: 0, scan: 0 };
      const bounds = L.latLngBounds([]);
      collection.features.forEach((feature) => {
        const role = feature.properties.role;
        counts[role] += 1;
        if (role === "scan") {
          const [lon, lat] = feature.geometry.coordinates;
          const where = L.latLng(lat, lon);
          const accuracy = feature.properties.accuracy_m;
          if (accuracy) L.circle(where, { radius: accuracy, color: "#0d6efd", weight: 1 }).addTo(map);
          L.circleMarker(where, { radius: 6, color: "#fff", weight: 2, fillColor: "#0d6efd", fillOpacity: 1 })
            .bindTooltip(`${element.dataset.labelScan} ${feature.properties.scanned_at.slice(0, 16).replace("T", " ")}` +
                         (accuracy ? ` · ${element.dataset.labelAccuracy} ${Math.round(accuracy)} m` : ""))
            .addTo(map);
          bounds.extend(where);
        } else {
          const layer = L.geoJSON(feature, { style: styles[role] })
            .bindTooltip(`${role === "expected" ? element.dataset.labelExpected : element.dataset.labelFound}: ${feature.properties.name}`)
            .addTo(map);
          bounds.extend(layer.getBounds());
        }
      });
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20], animate: false });
      else map.setView([0, 0], 1, { animate: false });
      element.dataset.expected = counts.expected;
      element.dataset.found = counts.found;
      element.dataset.scans = counts.scan;
      element.dataset.loaded = "true";
    });
  element.map = map;
})();
