// The live curves: metrics.csv of one or more runs, fetched as it grows (only the
// rows since the last look), drawn with Chart.js. Long runs are thinned on the
// server (every stride-th row, stride a power of two keeping 600-1200 points per
// curve); smoothing is an exponential moving average, debiased as TensorBoard's.
'use strict';

const CHARTS = {
  losses: {canvas: 'chart-losses', series: [
    {col: 'd_loss', label: 'D loss', color: '#1f77b4'},
    {col: 'g_loss', label: 'G loss', color: '#d62728', dash: true},
    {col: 'd_src_real', label: 'D real/fake on real', color: '#6baed6', term: true},
    {col: 'd_src_fake', label: 'D real/fake on generated', color: '#9ecae1', term: true},
    {col: 'd_cls_real', label: 'D genre on real', color: '#2ca02c', term: true},
    {col: 'd_cls_fake', label: 'D genre on generated', color: '#98df8a', term: true},
    {col: 'd_code', label: 'D codes', color: '#9467bd', term: true},
    {col: 'g_src', label: 'G real/fake', color: '#ff7f0e', dash: true, term: true},
    {col: 'g_cls', label: 'G genre', color: '#e377c2', dash: true, term: true},
    {col: 'g_code', label: 'G codes', color: '#8c564b', dash: true, term: true},
    {col: 'g_spectral', label: 'G spectrum', color: '#17becf', dash: true, term: true},
  ]},
  dx: {canvas: 'chart-dx', min: 0, max: 1, series: [
    {col: 'd_x', label: 'D(x)', color: '#1f77b4'},
    {col: 'd_g_z', label: 'D(G(z))', color: '#d62728', dash: true},
  ]},
  acc: {canvas: 'chart-acc', min: 0, max: 1, series: [
    {col: 'acc_real', label: 'on real covers', color: '#2ca02c'},
    {col: 'acc_fake', label: 'on generated covers', color: '#ff7f0e', dash: true},
  ]},
  speed: {canvas: 'chart-speed', min: 0, series: [
    {col: 'images_per_s', label: 'images/s', color: '#444'},
  ]},
};
const RUN_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const MAX_POINTS = 600;

class Curves {
  // runs: [{id, rows}] (rows: metrics rows known now, to pick the first stride).
  constructor(runs, {showTerms = false, onRows = null} = {}) {
    this.multi = runs.length > 1;
    this.showTerms = showTerms;
    this.onRows = onRows;
    this.smoothing = Number(document.getElementById('smooth').value);
    this.runs = runs.map((r, i) => ({id: r.id, color: RUN_COLORS[i % RUN_COLORS.length], version: null,
                                     next: 0, stride: Curves.strideFor(r.rows || 0), steps: [], cols: {}}));
    this.columns = ['step'];
    for (const c of Object.values(CHARTS)) for (const s of c.series) this.columns.push(s.col);
    this.charts = {};
    for (const [name, c] of Object.entries(CHARTS)) this.charts[name] = this.makeChart(c);
    this.rebuildDatasets();
  }

  static strideFor(rows) {
    let s = 1;
    while (rows / s > MAX_POINTS) s *= 2;
    return s;
  }

  makeChart(c) {
    const canvas = document.getElementById(c.canvas);
    return new Chart(canvas, {
      type: 'line',
      data: {datasets: []},
      options: {
        animation: false, parsing: false, normalized: true, responsive: true, maintainAspectRatio: false,
        spanGaps: true,
        interaction: {mode: 'nearest', axis: 'x', intersect: false},
        elements: {point: {radius: 0}, line: {borderWidth: 1.6, tension: 0}},
        plugins: {
          decimation: {enabled: false},  // the server thins long runs; decimation would hide appended points
          legend: {labels: {boxWidth: 18, filter: (item, data) => !data.datasets[item.datasetIndex].raw}},
          tooltip: {filter: (item) => !item.dataset.raw},
        },
        scales: {
          x: {type: 'linear', title: {display: true, text: 'iteration'}},
          y: {min: c.min, max: c.max, beginAtZero: c.min === 0},
        },
      },
    });
  }

  // One smoothed dataset per (run, series) shown, and a faint raw one behind it when smoothing.
  rebuildDatasets() {
    for (const [name, c] of Object.entries(CHARTS)) {
      const sets = [];
      for (const run of this.runs)
        for (const s of c.series) {
          if (s.term && (!this.showTerms || this.multi)) continue;
          const color = this.multi ? run.color : s.color;
          const label = this.multi ? run.id + ': ' + s.label : s.label;
          const dash = s.dash ? [6, 3] : [];
          if (this.smoothing > 0)
            sets.push({label: label + ' (raw)', raw: true, run: run.id, col: s.col, data: [],
                       borderColor: color + '38', borderDash: dash, borderWidth: 1});
          sets.push({label, run: run.id, col: s.col, data: [], borderColor: color, backgroundColor: color,
                     borderDash: dash, smooth: {last: 0, weight: 0}});
        }
      this.charts[name].data.datasets = sets;
    }
    for (const run of this.runs) this.append(run, 0);
    this.update();
  }

  setSmoothing(w) { this.smoothing = w; this.rebuildDatasets(); }
  setTerms(on) { this.showTerms = on; this.rebuildDatasets(); }

  // Adds the run's rows from index `from` to every dataset of that run.
  append(run, from) {
    const w = this.smoothing;
    for (const chart of Object.values(this.charts))
      for (const ds of chart.data.datasets) {
        if (ds.run !== run.id) continue;
        const ys = run.cols[ds.col];
        if (!ys) continue;
        for (let i = from; i < ys.length; ++i) {
          const y = ys[i];
          if (y === null) continue;
          if (ds.raw) { ds.data.push({x: run.steps[i], y}); continue; }
          ds.smooth.last = ds.smooth.last * w + (1 - w) * y;
          ds.smooth.weight = ds.smooth.weight * w + (1 - w);
          ds.data.push({x: run.steps[i], y: ds.smooth.last / ds.smooth.weight});
        }
      }
  }

  update() { for (const c of Object.values(this.charts)) c.update('none'); }

  // Fetches what each run has added since the last look; redraws only when something came.
  async poll() {
    let grew = false;
    for (const run of this.runs) {
      const q = 'from=' + run.next + '&stride=' + run.stride + '&columns=' + this.columns.join(',');
      const m = await cg.json('/api/runs/' + encodeURIComponent(run.id) + '/metrics?' + q);
      if (run.version !== null && m.version !== run.version) {  // the file was replaced: start over
        this.reset(run, m.total);
        return this.poll();
      }
      if (m.total / run.stride > 2 * MAX_POINTS) {  // grown past the budget: thin harder, fetch again
        this.reset(run, m.total);
        return this.poll();
      }
      run.version = m.version;
      const fresh = (m.columns.step || []).length;
      if (fresh > 0) {
        const start = run.steps.length;
        run.steps.push(...m.columns.step);
        for (const [col, vals] of Object.entries(m.columns)) {
          if (col === 'step') continue;
          (run.cols[col] = run.cols[col] || new Array(start).fill(null)).push(...vals);
        }
        this.append(run, start);
        grew = true;
      }
      run.next = m.total;
      run.total = m.total;
      run.lastStep = run.steps.length ? run.steps[run.steps.length - 1] : null;
    }
    if (grew) this.update();
    if (this.onRows) this.onRows(this.runs);
    return grew;
  }

  reset(run, total) {
    run.version = null; run.next = 0; run.steps = []; run.cols = {};
    run.stride = Curves.strideFor(total);
    for (const chart of Object.values(this.charts))
      for (const ds of chart.data.datasets)
        if (ds.run === run.id) { ds.data = []; if (ds.smooth) ds.smooth = {last: 0, weight: 0}; }
  }

  // Total points drawn (raw data behind the first dataset of each chart): tests read this.
  pointCount() { return this.charts.losses.data.datasets.reduce((n, d) => n + (d.raw ? 0 : d.data.length), 0); }
}

// Wires the smoothing slider and the loss-terms box to a Curves object.
function wireCurveTools(curves) {
  const smooth = document.getElementById('smooth');
  const out = document.getElementById('smooth-val');
  smooth.addEventListener('change', () => curves.setSmoothing(Number(smooth.value)));
  smooth.addEventListener('input', () => { out.textContent = Number(smooth.value).toFixed(2); });
  const terms = document.getElementById('terms');
  if (terms) terms.addEventListener('change', () => curves.setTerms(terms.checked));
}
