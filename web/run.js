// The run page: the summary (state, config, checkpoints, samples, extras) refreshed
// every 10 s, the curves every 2 s, and the playground. Polling stops while the
// tab is hidden, so a forgotten tab costs the training nothing.
'use strict';

const runId = decodeURIComponent(location.pathname.split('/')[2] || '');
const page = {summary: null, curves: null, playground: null, sampleCount: -1};
window.coverganPage = page;  // for the browser test and the curious

function fillHeader(s) {
  document.title = 'covergan: ' + s.id;
  document.getElementById('run-id').textContent = s.id;
  document.getElementById('title').textContent = s.id;
  document.getElementById('run-path').textContent = s.path;
  const state = document.getElementById('run-state');
  const live = cg.isLive(s);
  cg.setText(state, live ? 'training' : (s.rows ? 'not writing' : 'no metrics yet'));
  if (state.className !== 'badge' + (live ? ' live' : '')) state.className = 'badge' + (live ? ' live' : '');
  const last = s.last || {};
  cg.setText(document.getElementById('run-now'), s.rows
    ? 'iteration ' + last.step + (last.phase ? ' (' + last.phase + ')' : '') + ', ' + cg.num(last.images_per_s, 0) +
      ' images/s, metrics written ' + cg.ago(s.seconds_since_write) : '');
}

// Rebuilds a part only when what it shows changed: a page left open beside a training
// should cost it (almost) nothing between changes.
function changed(key, value) {
  const text = JSON.stringify(value);
  if (page[key] === text) return false;
  page[key] = text;
  return true;
}

function fillConfig(s) {
  if (!changed('configKey', s.config)) return;
  const body = document.querySelector('#config tbody');
  body.replaceChildren();
  document.getElementById('config-link').href = cg.fileUrl(runId, 'config.json');
  document.getElementById('config-empty').hidden = !!s.config;
  if (!s.config) return;
  const rows = [];
  const walk = (obj, prefix) => {
    for (const [k, v] of Object.entries(obj)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, prefix + k + '.');
      else rows.push([prefix + k, Array.isArray(v) ? v.join(', ') : String(v)]);
    }
  };
  walk(s.config, '');
  for (const [k, v] of rows) body.append(cg.el('tr', {}, cg.el('td', {text: k}), cg.el('td', {text: v})));
}

function fillCheckpoints(s) {
  if (!changed('checkpointsKey', s.checkpoints.map((c) => [c.step, c.bytes, Math.round(c.seconds_ago / 60)]))) return;
  const body = document.querySelector('#checkpoints tbody');
  body.replaceChildren();
  document.getElementById('checkpoints-empty').hidden = s.checkpoints.length > 0;
  for (const c of [...s.checkpoints].reverse()) {
    const use = cg.el('button', {type: 'button', text: 'use in playground'});
    use.addEventListener('click', () => {
      const sel = document.getElementById('ckpt');
      sel.value = String(c.step);
      sel.dispatchEvent(new Event('change'));
      document.getElementById('playground').scrollIntoView();
    });
    body.append(cg.el('tr', {}, cg.el('td', {class: 'num', text: String(c.step)}), cg.el('td', {text: c.file}),
                      cg.el('td', {class: 'num', text: cg.bytes(c.bytes)}), cg.el('td', {text: cg.ago(c.seconds_ago)}),
                      cg.el('td', {}, use)));
  }
}

function showSample(i) {
  const s = page.summary.samples[i];
  if (!s) return;
  const img = document.getElementById('sample');
  // Small covers (a 32x32 model's grid is ~300 px wide) are shown enlarged, by whole pixels.
  img.onload = () => { img.width = img.naturalWidth * Math.max(1, Math.min(4, Math.floor(560 / img.naturalWidth))); };
  img.src = cg.fileUrl(runId, s.file);
  document.getElementById('sample-step').textContent = String(s.step);
}

function fillSamples(s) {
  const n = s.samples.length;
  document.getElementById('samples-empty').hidden = n > 0;
  document.getElementById('samples-box').hidden = n === 0;
  const pick = document.getElementById('sample-pick');
  if (n !== page.sampleCount) {
    page.sampleCount = n;
    pick.max = String(Math.max(0, n - 1));
    if (document.getElementById('sample-follow').checked) pick.value = String(n - 1);
    showSample(Number(pick.value));
  }
  const box = document.getElementById('pictures');
  if (box.dataset.list !== s.pictures.join()) {
    box.dataset.list = s.pictures.join();
    box.replaceChildren(...s.pictures.map((p) => cg.el('figure', {}, cg.el('img', {src: cg.fileUrl(runId, p), alt: p}),
                                                          cg.el('figcaption', {text: p}))));
  }
}

async function fillProfile(rel) {
  const text = await (await fetch(cg.fileUrl(runId, rel))).text();
  const lines = text.trim().split('\n').map((l) => l.split(','));
  const table = document.getElementById('profile');
  const isNum = (v) => v !== '' && !Number.isNaN(Number(v));
  table.tHead.replaceChildren(cg.el('tr', {}, ...lines[0].map((h) => cg.el('th', {text: h}))));
  table.tBodies[0].replaceChildren(...lines.slice(1).map((cells) =>
    cg.el('tr', {}, ...cells.map((v) => cg.el('td', {class: isNum(v) ? 'num' : '', text: v})))));
}

async function fillTape(x) {
  const box = document.getElementById('tape');
  const rel = x.tape_svg || x.tape_dot || x.tape_txt;
  document.getElementById('tape-link').href = cg.fileUrl(runId, rel);
  if (x.tape_svg) box.replaceChildren(cg.el('img', {src: cg.fileUrl(runId, x.tape_svg), alt: 'tape graph'}));
  else box.replaceChildren(cg.el('pre', {text: await (await fetch(cg.fileUrl(runId, rel))).text()}));
}

async function fillExtras(s) {
  const x = s.extras;
  if (!changed('extrasKey', x)) return;
  document.getElementById('report-na').hidden = !!x.report;
  document.getElementById('report-box').hidden = !x.report;
  if (x.report) {
    document.getElementById('report').src = cg.fileUrl(runId, x.report);
    document.getElementById('report-link').href = cg.fileUrl(runId, x.report);
  }
  document.getElementById('profile-na').hidden = !!x.profile;
  document.getElementById('profile-box').hidden = !x.profile;
  if (x.profile) {
    document.getElementById('profile-link').href = cg.fileUrl(runId, x.profile);
    await fillProfile(x.profile);
  }
  const tape = x.tape_svg || x.tape_dot || x.tape_txt;
  document.getElementById('tape-na').hidden = !!tape;
  document.getElementById('tape-box').hidden = !tape;
  if (tape) await fillTape(x);
}

async function refreshSummary() {
  const s = await cg.json('/api/runs/' + encodeURIComponent(runId));
  page.summary = s;
  fillHeader(s);
  fillConfig(s);
  fillCheckpoints(s);
  fillSamples(s);
  await fillExtras(s);
  if (!page.playground) page.playground = new Playground(runId, s);
  else page.playground.setCheckpoints(s.checkpoints);
  return s;
}

async function start() {
  document.getElementById('sample-pick').addEventListener('input', (e) => {
    document.getElementById('sample-follow').checked = Number(e.target.value) === page.summary.samples.length - 1;
    showSample(Number(e.target.value));
  });
  let s;
  try { s = await refreshSummary(); } catch (e) { cg.showError(e.message); return; }
  page.curves = new Curves([{id: runId, rows: s.rows}], {
    onRows: (runs) => {
      const r = runs[0];
      cg.setText(document.getElementById('curve-status'), r.total + ' rows' +
        (r.stride > 1 ? ', every ' + r.stride + 'th drawn' : '') + (r.lastStep !== null ? ', newest at iteration ' + r.lastStep : ''));
    },
  });
  wireCurveTools(page.curves);
  cg.every(2000, () => page.curves.poll(), true);  // a run that stopped writing is asked less often
  setTimeout(() => cg.every(10000, refreshSummary), 10000);
}

document.addEventListener('DOMContentLoaded', start);
