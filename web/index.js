// The index: one row per run with its newest metrics, refreshed every 5 s; tick
// runs to overlay their curves on the compare page.
'use strict';

async function refresh() {
  const {runs} = await cg.json('/api/runs');
  const body = document.querySelector('#runs tbody');
  const ticked = new Set([...document.querySelectorAll('#runs input:checked')].map((i) => i.value));
  body.replaceChildren(...runs.map((r) => {
    const last = r.last || {};
    const box = cg.el('input', {type: 'checkbox', value: r.id, 'aria-label': 'compare ' + r.id});
    box.checked = ticked.has(r.id);
    box.addEventListener('change', updateButton);
    const live = cg.isLive(r);
    return cg.el('tr', {}, cg.el('td', {}, box),
      cg.el('td', {}, cg.el('a', {href: '/run/' + encodeURIComponent(r.id), text: r.id}), cg.el('br'),
            cg.el('small', {class: 'sub', text: r.path})),
      cg.el('td', {}, cg.el('span', {class: 'badge' + (live ? ' live' : ''), text: live ? 'training' : r.rows ? 'not writing' : 'no metrics'})),
      cg.el('td', {class: 'num', text: last.step ?? '–'}),
      cg.el('td', {class: 'num', text: cg.num(last.d_loss)}), cg.el('td', {class: 'num', text: cg.num(last.g_loss)}),
      cg.el('td', {class: 'num', text: cg.num(last.d_x)}), cg.el('td', {class: 'num', text: cg.num(last.d_g_z)}),
      cg.el('td', {class: 'num', text: cg.num(last.acc_real)}), cg.el('td', {class: 'num', text: cg.num(last.images_per_s, 0)}),
      cg.el('td', {class: 'num', text: String(r.n_checkpoints)}));
  }));
  updateButton();
}

function updateButton() {
  const n = document.querySelectorAll('#runs input:checked').length;
  document.getElementById('compare').disabled = n < 1;
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('compare').addEventListener('click', () => {
    const ids = [...document.querySelectorAll('#runs input:checked')].map((i) => i.value);
    location.href = '/compare?runs=' + ids.map(encodeURIComponent).join(',');
  });
  cg.every(5000, refresh);
});
