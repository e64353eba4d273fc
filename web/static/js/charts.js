// Charts from data-* attributes (the CSP allows no inline script): a canvas with
// data-chart="trend" and data-points='[["2026-12-01", 3], ...]' becomes a bar chart.
document.querySelectorAll("canvas[data-chart='trend']").forEach((canvas) => {
  const points = JSON.parse(canvas.dataset.points);
  const chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: points.map((p) => p[0].slice(5)),
      datasets: [{ label: canvas.dataset.label, data: points.map((p) => p[1]),
                   backgroundColor: "#0d6efd" }],
    },
    options: { maintainAspectRatio: false, animation: false,
               plugins: { legend: { display: false } },
               scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  canvas.chart = chart;  // tests read the chart's numbers from the page
});

// Violations per day by type, stacked; a click on a bar opens the queue for that day
// and type.
const TYPE_COLOURS = { diverted: "#dc3545", unknown_code: "#6f42c1",
                       suspected_clone: "#fd7e14", recalled: "#6c757d" };
document.querySelectorAll("canvas[data-chart='over-time']").forEach((canvas) => {
  const timeline = JSON.parse(canvas.dataset.timeline);
  const labels = JSON.parse(canvas.dataset.typeLabels);
  const types = Object.keys(timeline.series);
  const chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: timeline.days.map((day) => day.slice(5)),
      datasets: types.map((type) => ({ label: labels[type], data: timeline.series[type],
                                       backgroundColor: TYPE_COLOURS[type], type_code: type })),
    },
    options: {
      maintainAspectRatio: false, animation: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      onClick: (_event, elements) => {
        if (!elements.length) return;
        const { datasetIndex, index } = elements[0];
        const day = timeline.days[index];
        const query = new URLSearchParams({ type: types[datasetIndex], from: day, until: day });
        window.location.href = `${canvas.dataset.queue}?${query}`;
      },
    },
  });
  canvas.chart = chart;
});
