// Shared helpers for the pages of `covergan serve`: JSON fetches that turn the
// server's one-sentence errors into messages, small DOM builders and formatting.
'use strict';

const cg = {
  async json(url) {
    const r = await fetch(url, {cache: 'no-store'});
    if (!r.ok) throw new Error((await r.text()).trim() || ('HTTP ' + r.status));
    return r.json();
  },
  el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  },
  showError(msg) {
    const e = document.getElementById('error');
    if (!e) return;
    e.textContent = msg || '';
    e.hidden = !msg;
  },
  num(v, digits = 3) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
    return Number(v).toFixed(a >= 100 ? 0 : digits);
  },
  bytes(n) {
    if (n >= 1 << 30) return (n / (1 << 30)).toFixed(1) + ' GiB';
    if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + ' MiB';
    if (n >= 1 << 10) return (n / (1 << 10)).toFixed(1) + ' KiB';
    return n + ' B';
  },
  ago(s) {
    if (s === null || s === undefined) return 'never';
    if (s < 90) return Math.round(s) + ' s ago';
    if (s < 5400) return Math.round(s / 60) + ' min ago';
    if (s < 172800) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' days ago';
  },
  // A run counts as training while its metrics.csv was written in the last 30 s.
  isLive(brief) { return brief.seconds_since_write !== null && brief.seconds_since_write < 30; },
  fileUrl(run, rel) { return '/files/' + encodeURIComponent(run) + '/' + rel.split('/').map(encodeURIComponent).join('/'); },
  // Sets an element's text only when it differs: an unchanged page then lays out nothing.
  setText(el, text) { if (el.textContent !== text) el.textContent = text; },
  // Runs a task now and then every ms milliseconds while the page is visible; with
  // backoff, a task that reports no news (returns false) waits twice as long next time,
  // up to 8 x ms, and news brings it back to ms.
  every(ms, task, backoff = false) {
    let timer = null;
    let wait = ms;
    const tick = async () => {
      timer = null;
      if (!document.hidden) {
        try {
          const news = await task();
          wait = backoff && news === false ? Math.min(wait * 2, 8 * ms) : ms;
        } catch (e) { cg.showError(e.message); }
      }
      timer = setTimeout(tick, wait);
    };
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && timer !== null) { clearTimeout(timer); tick(); }
    });
    tick();
  },
};
