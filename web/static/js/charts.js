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
