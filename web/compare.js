// The compare page: the curves of several runs overlaid, one colour per run.
'use strict';

document.addEventListener('DOMContentLoaded', async () => {
  const ids = (new URLSearchParams(location.search).get('runs') || '').split(',').filter((x) => x);
  let runs;
  try { runs = (await cg.json('/api/runs')).runs.filter((r) => ids.includes(r.id)); } catch (e) { cg.showError(e.message); return; }
  document.getElementById('title').textContent = 'Compare ' + runs.map((r) => r.id).join(', ');
  const curves = new Curves(runs.map((r) => ({id: r.id, rows: r.rows})), {
    onRows: (rs) => {
      cg.setText(document.getElementById('curve-status'), rs.map((r) => r.id + ': ' + r.total + ' rows').join(' · '));
    },
  });
  window.coverganPage = {curves};
  wireCurveTools(curves);
  cg.every(2000, () => curves.poll(), true);
});
