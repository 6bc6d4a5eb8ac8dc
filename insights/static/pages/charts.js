// Draws every <canvas data-chart="name"> from the JSON the page embeds (json_script "chart-data").
// The numbers are the server's; this file only maps them onto Chart.js options.
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var specs = JSON.parse(source.textContent);

  function dataset(spec) {
    var line = spec.type === "line";
    return {
      type: spec.type,
      label: spec.label,
      data: spec.data,
      stack: spec.stack || undefined,
      yAxisID: spec.yAxisID,
      backgroundColor: line ? spec.color : spec.color + "cc",
      borderColor: spec.color,
      borderWidth: line ? (spec.label === "total" ? 2.5 : 1.5) : 0,
      pointRadius: line && spec.data.length <= 60 ? 2 : 0,
      spanGaps: false,
      order: line ? 0 : 1,
      barPercentage: spec.data.length > 100 ? 1 : 0.9,
      categoryPercentage: spec.data.length > 100 ? 1 : 0.8
    };
  }

  // 250000000 -> "250M": axis labels only; tables and CSV keep every digit.
  function si(value) {
    var prefixes = ["", "k", "M", "G", "T", "P"];
    var index = 0;
    while (Math.abs(value) >= 1000 && index < prefixes.length - 1) {
      value /= 1000;
      index += 1;
    }
    return parseFloat(value.toPrecision(3)) + prefixes[index];
  }

  function options(spec) {
    var stacked = spec.datasets.some(function (d) { return d.stack; });
    var scales = {
      x: { stacked: stacked, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 12 } },
      y: {
        stacked: stacked, beginAtZero: true, title: { display: true, text: spec.yTitle },
        ticks: { precision: 0, callback: si }
      }
    };
    if (spec.y1Title) {
      scales.y1 = {
        position: "right", min: 0, max: 100, grid: { drawOnChartArea: false },
        title: { display: true, text: spec.y1Title }
      };
    }
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" } },
      scales: scales
    };
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = specs[canvas.dataset.chart];
    if (!spec) {
      return;
    }
    new Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: spec.datasets.map(dataset) },
      options: options(spec)
    });
    canvas.dataset.drawn = "true";
  });
})();
