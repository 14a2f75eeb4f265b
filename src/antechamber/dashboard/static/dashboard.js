// Antechamber dashboard: confirmations for the forms that ask for one, and the live charts (uPlot).
(function () {
  "use strict";

  // A form with data-confirm asks first; the server asks on a page of its own when this script does not run.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (!question) return;
    if (!window.confirm(question)) { event.preventDefault(); return; }
    var confirmed = form.querySelector('input[name="confirmed"]');
    if (confirmed) confirmed.value = "yes";
  });

  // Points as well as lines: a minute with data between gaps (or the first minute of a surge) still shows.
  var POINTS = { show: true, size: 5 };
  var COLORS = { line: "#2563eb", limit: "#dc2626", second: "#7c3aed", third: "#ea580c", fill: "rgba(37,99,235,0.12)" };

  function seriesOf(kind) {
    var limit = { label: "limit", stroke: COLORS.limit, dash: [6, 4], width: 1.5, points: POINTS };
    if (kind === "active") return [{ label: "on the site", stroke: COLORS.line, fill: COLORS.fill, width: 2, points: POINTS }, limit];
    if (kind === "queued") return [{ label: "queued", stroke: COLORS.second, fill: "rgba(124,58,237,0.12)", width: 2, points: POINTS }];
    if (kind === "admitted") return [{ label: "let in", stroke: COLORS.line, width: 2, points: POINTS }, Object.assign({}, limit, { label: "rate" })];
    return [
      { label: "p50", stroke: COLORS.line, width: 2, points: POINTS },
      { label: "p90", stroke: COLORS.second, width: 2, points: POINTS },
      { label: "p99", stroke: COLORS.third, width: 1.5, points: POINTS }
    ];
  }

  function columnsOf(kind, d) {
    if (kind === "active") return [d.t, d.active_users_max, d.active_users_limit];
    if (kind === "queued") return [d.t, d.queued_users_max];
    if (kind === "admitted") return [d.t, d.new_users, d.new_users_limit];
    return [d.t, d.wait_p50_seconds, d.wait_p90_seconds, d.wait_p99_seconds];
  }

  function latest(values) {
    for (var i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
    return null;
  }

  function describe(kind, columns) {
    var value = latest(columns[1]);
    return value === null ? "no data in this range" : "latest " + value;
  }

  function start(root) {
    var url = root.getAttribute("data-series-url");
    var live = root.getAttribute("data-live") === "true";
    var note = document.getElementById("charts-note");
    var plots = {};

    function width(el) { return Math.max(260, el.clientWidth); }

    function draw(data) {
      root.querySelectorAll("[data-chart]").forEach(function (el) {
        var kind = el.getAttribute("data-chart");
        var columns = columnsOf(kind, data);
        el.setAttribute("aria-label", el.closest("figure").querySelector("figcaption").textContent + ": " + describe(kind, columns));
        el.setAttribute("data-latest", String(latest(columns[1])));
        if (plots[kind]) { plots[kind].setData(columns); return; }
        var options = {
          width: width(el), height: 180,
          series: [{}].concat(seriesOf(kind)),
          axes: [{ stroke: "#475569" }, { stroke: "#475569", size: 56 }],
          scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.1)]; } } },
          legend: { live: true }
        };
        plots[kind] = new uPlot(options, columns, el);
      });
      if (note) note.textContent = "Updated " + new Date().toLocaleTimeString() +
        (data.bin_minutes > 1 ? " · each point is the highest minute of " + data.bin_minutes : "");
      root.setAttribute("data-updated", String(Date.now()));
    }

    function load() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) {
          if (r.status === 401) { window.location = "/dashboard/sign-in"; return null; }
          return r.json().then(function (body) { return { ok: r.ok, body: body }; });
        })
        .then(function (answer) {
          if (!answer) return;
          if (!answer.ok) { if (note) note.textContent = answer.body.error || "Could not load the figures."; return; }
          draw(answer.body);
        })
        .catch(function () { if (note) note.textContent = "Could not reach the dashboard; retrying."; });
    }

    load();
    if (live) window.setInterval(load, 5000);
    window.addEventListener("resize", function () {
      root.querySelectorAll("[data-chart]").forEach(function (el) {
        var plot = plots[el.getAttribute("data-chart")];
        if (plot) plot.setSize({ width: width(el), height: 180 });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("charts");
    if (root && window.uPlot) start(root);
  });
})();
