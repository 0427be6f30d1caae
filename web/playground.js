// The generator playground: covers made by the server's engine from a checkpoint
// of the run, on request. Only one cover request is in flight at a time; moves
// made meanwhile collapse into one follow-up with the newest settings, so dragging
// a slider never queues stale covers. The latency shown is from the first input
// the cover answers to the frame after the one that painted it.
'use strict';

const MAX_SEED = 9007199254740991;

class Playground {
  constructor(runId, summary) {
    this.run = runId;
    this.genre = 0;
    this.followNewest = true;
    this.inflight = false;
    this.dirty = false;
    this.firstInput = null;
    this.shown = 0;
    this.latencies = [];
    this.objectUrl = null;
    this.ckpt = document.getElementById('ckpt');
    this.seed = document.getElementById('seed');
    this.rollAlways = document.getElementById('roll-always');
    this.img = document.getElementById('cover');
    this.info = document.getElementById('cover-info');
    this.seed.value = String(Math.floor(Math.random() * 1e9));
    const cfg = summary.config || {};
    const model = cfg.model || {};
    this.genres = cfg.genres || [...Array(model.num_genres || 1).keys()].map(String);
    this.nCodes = model.n_codes === undefined ? 2 : model.n_codes;
    // Sweeps and strips enlarged by whole pixels to about 128 px a cover.
    this.stripScale = String(Math.max(1, Math.min(8, Math.round(128 / (model.image_size || 64)))));
    this.buildGenres();
    this.buildCodes();
    this.ckpt.addEventListener('change', () => { this.followNewest = this.ckpt.selectedIndex === 0; this.changed(); });
    this.seed.addEventListener('change', () => this.changed(false));
    document.getElementById('reroll').addEventListener('click', () => this.changed(true));
    document.getElementById('sweep-btn').addEventListener('click', () => this.extra('sweep'));
    document.getElementById('strip-btn').addEventListener('click', () => this.extra('strip'));
    this.setCheckpoints(summary.checkpoints);
  }

  buildGenres() {
    const box = document.getElementById('genres');
    box.replaceChildren();
    this.genres.forEach((name, i) => {
      const b = cg.el('button', {type: 'button', role: 'radio', 'aria-checked': String(i === this.genre),
                                 'data-genre': String(i), text: name});
      b.addEventListener('click', () => this.setGenre(i));
      box.append(b);
    });
  }

  setGenre(i) {
    this.genre = i;
    for (const b of document.querySelectorAll('#genres button'))
      b.setAttribute('aria-checked', String(Number(b.dataset.genre) === i));
    this.changed();
  }

  buildCodes() {
    const box = document.getElementById('codes');
    box.replaceChildren();
    this.codeInputs = [];
    for (let k = 0; k < this.nCodes; ++k) {
      const input = cg.el('input', {type: 'range', id: 'code' + (k + 1), min: '-1', max: '1', step: '0.01', value: '0',
                                    'aria-label': 'code ' + (k + 1)});
      const out = cg.el('output', {text: '0.00'});
      input.addEventListener('input', () => { out.textContent = Number(input.value).toFixed(2); this.changed(); });
      box.append(cg.el('div', {class: 'code-row'}, cg.el('span', {text: 'code ' + (k + 1)}), input, out));
      this.codeInputs.push(input);
    }
  }

  // The checkpoint list (newest first); a page that follows the newest moves on with it.
  setCheckpoints(cks) {
    document.getElementById('play-empty').hidden = cks.length > 0;
    document.getElementById('play-box').hidden = cks.length === 0;
    const steps = cks.map((c) => c.step).reverse();
    const old = [...this.ckpt.options].map((o) => Number(o.value));
    if (steps.join() === old.join()) return;
    const before = this.ckpt.value;
    const keep = this.followNewest ? steps[0] : Number(this.ckpt.value);
    this.ckpt.replaceChildren(...steps.map((s, i) => cg.el('option', {value: String(s),
      text: 'step ' + s + (i === 0 ? ' (newest)' : '')})));
    if (steps.includes(keep)) this.ckpt.value = String(keep);
    else { this.followNewest = true; this.ckpt.value = String(steps[0] ?? ''); }
    if (steps.length && this.ckpt.value !== before) this.changed();  // a new cover only when the checkpoint moved
  }

  params(extra = {}) {
    const p = new URLSearchParams({step: this.ckpt.value, seed: this.seed.value});
    if (this.nCodes > 0) p.set('codes', this.codeInputs.map((i) => Number(i.value).toFixed(2)).join(','));
    for (const [k, v] of Object.entries(extra)) p.set(k, v);
    return p;
  }

  // Something the cover depends on changed: ask for a new one (or note that one is due).
  changed(reroll = this.rollAlways.checked) {
    if (reroll) this.seed.value = String(Math.floor(Math.random() * 1e9));
    if (this.firstInput === null) this.firstInput = performance.now();
    if (this.inflight) { this.dirty = true; return; }
    this.request();
  }

  async request() {
    if (!this.ckpt.value) return;
    this.inflight = true;
    this.dirty = false;
    const t0 = this.firstInput ?? performance.now();
    this.firstInput = null;
    const p = this.params({genre: String(this.genre)});
    try {
      const r = await fetch('/api/runs/' + encodeURIComponent(this.run) + '/cover.png?' + p, {cache: 'no-store'});
      if (!r.ok) throw new Error((await r.text()).trim());
      const blob = await r.blob();
      const url = URL.createObjectURL(blob);
      const img = new Image();
      img.src = url;
      await img.decode();  // decoded before it is swapped in: no half-drawn frame
      this.img.src = url;
      if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
      this.objectUrl = url;
      // Two frames: the first paints the new cover, the second starts once it was shown.
      await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done())));
      const ms = performance.now() - t0;
      const fwd = /forward;dur=([\d.]+)/.exec(r.headers.get('Server-Timing') || '');
      this.img.dataset.forwardMs = fwd ? fwd[1] : '';
      this.latencies.push(ms);
      this.shown += 1;
      this.img.dataset.shown = String(this.shown);
      this.img.dataset.latencyMs = ms.toFixed(1);
      this.img.dataset.genre = String(this.genre);
      this.info.textContent = this.genres[this.genre] + ', step ' + r.headers.get('X-Covergan-Step') + ', seed ' +
        this.seed.value + ': on screen in ' + ms.toFixed(0) + ' ms' + (fwd ? ' (generator ' + Number(fwd[1]).toFixed(0) + ' ms)' : '');
      const dl = this.params({genre: String(this.genre), scale: '4', download: '1'});
      document.getElementById('download').href = '/api/runs/' + encodeURIComponent(this.run) + '/cover.png?' + dl;
      cg.showError('');
    } catch (e) {
      cg.showError('Playground: ' + e.message);
    } finally {
      this.inflight = false;
      if (this.dirty) this.request();
    }
  }

  // The genre sweep (this latent point in every genre) or the interpolation strip.
  async extra(kind) {
    const fig = document.getElementById('extra-fig');
    const img = document.getElementById('extra-img');
    const along = document.getElementById('strip-along').value;
    const p = this.params({scale: this.stripScale});
    if (kind === 'strip') { p.set('genre', String(this.genre)); p.set('along', along); p.set('steps', '8'); }
    const url = '/api/runs/' + encodeURIComponent(this.run) + '/' + kind + '.png?' + p;
    img.src = url;
    img.alt = kind === 'sweep' ? 'genre sweep' : 'interpolation strip';
    try { await img.decode(); } catch (e) {
      const r = await fetch(url);
      cg.showError('Playground: ' + (await r.text()).trim());
      return;
    }
    fig.hidden = false;
    const seed = Number(this.seed.value);
    document.getElementById('extra-info').textContent = kind === 'sweep'
      ? 'Genre sweep, left to right: ' + this.genres.join(', ') + ' (the same noise and codes).'
      : along === 'noise' ? 'From the noise of seed ' + seed + ' to that of seed ' + Math.min(seed + 1, MAX_SEED) + ', ' + this.genres[this.genre] + '.'
      : (along === 'code1' ? 'Code 1' : 'Code 2') + ' from -1 to 1, ' + this.genres[this.genre] + '.';
    p.set('download', '1');
    document.getElementById('extra-download').href = url.replace(/\?.*/, '?' + p);
  }
}
