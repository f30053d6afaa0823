// The Explore view: a metric tree from /metrics/find, a target editor with completion, the
// range picker with auto-refresh, unit and error-overlay choices, and the graph. All state is in
// the URL (target…, from, until, refresh, unit, errors).

import { h, select } from './dom.js';
import { getJSON } from './api.js';
import { go } from './router.js';
import { rangePicker, durationSecs } from './time.js';
import { UNITS } from './format.js';
import { attachCompletion } from './complete.js';
import { graphInto } from './graphs.js';

function state(params) {
  return {
    target: params.getAll('target'),
    from: params.get('from') || '-1h',
    until: params.get('until') || 'now',
    refresh: params.get('refresh') || '',
    unit: params.get('unit') || '',
    errors: params.get('errors') || '',
    mark: params.get('mark') || '',
  };
}

/** One level of the metric tree; branches load their children when opened. */
function treeLevel(prefix, onLeaf) {
  const ul = h('ul', { class: 'tree' }, h('li', { class: 'muted', text: 'Loading…' }));
  getJSON('/metrics/find', { query: prefix ? `${prefix}.*` : '*' }).then((nodes) => {
    ul.replaceChildren();
    if (!nodes.length) ul.append(h('li', { class: 'muted', text: 'no metrics' }));
    for (const n of nodes) {
      if (n.leaf === 1 || n.leaf === true) {
        ul.append(h('li', {}, h('button', { type: 'button', class: 'leaf', title: n.id, text: n.text, onclick: () => onLeaf(n.id) })));
      } else {
        let child = null;
        const li = h('li', {});
        const btn = h('button', {
          type: 'button', class: 'branch', title: n.id, text: `▸ ${n.text}`, onclick: () => {
            if (child) { child.remove(); child = null; btn.textContent = `▸ ${n.text}`; return; }
            child = treeLevel(n.id, onLeaf);
            btn.textContent = `▾ ${n.text}`;
            li.append(child);
          },
        });
        li.append(btn);
        ul.append(li);
      }
    }
  }).catch((e) => { ul.replaceChildren(h('li', { class: 'error', text: e.message })); });
  return ul;
}

/** Renders Explore into el. */
export function explore(el, params) {
  const st = state(params);
  const update = (patch) => go('/explore', { ...st, ...patch });
  const targetRows = h('div', { class: 'targets' });
  const addRow = (value) => {
    const input = h('input', { type: 'text', class: 'target', value, spellcheck: 'false', placeholder: 'metric.path.* or function(…)', 'aria-label': 'target' });
    const commit = () => {
      const all = [...targetRows.querySelectorAll('input.target')].map((i) => i.value.trim()).filter(Boolean);
      if (JSON.stringify(all) !== JSON.stringify(st.target)) update({ target: all });
    };
    input.addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.defaultPrevented) commit(); });
    input.addEventListener('change', commit);
    const row = h('div', { class: 'target-row' }, attachCompletion(input),
      h('button', { type: 'button', title: 'remove this target', text: '✕', onclick: () => { row.remove(); commit(); } }));
    targetRows.append(row);
    return input;
  };
  for (const t of st.target) addRow(t);
  if (!st.target.length) addRow('');
  const graphEl = h('div', { class: 'graph-host' });
  const toolbar = h('div', { class: 'toolbar' },
    rangePicker(st, (r) => update(r)),
    select(UNITS, st.unit, (v) => update({ unit: v }), { 'aria-label': 'unit' }),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: st.errors === '1', onchange: (e) => update({ errors: e.target.checked ? '1' : '' }) }), 'error logs'),
  );
  const aside = h('aside', { class: 'sidebar' }, h('h2', { text: 'Metrics' }),
    treeLevel('', (id) => update({ target: [...st.target, id] })));
  el.append(h('div', { class: 'split' }, aside, h('section', { class: 'content' },
    targetRows,
    h('div', { class: 'row' }, h('button', { type: 'button', text: '+ target', onclick: () => addRow('').focus() })),
    toolbar, graphEl)));

  let g = null;
  const draw = () => {
    if (g) g.destroy();
    graphEl.replaceChildren();
    g = st.target.length ? graphInto(graphEl, st.target, st.from, st.until, {
      unit: st.unit, errors: st.errors === '1', height: 360,
      marks: st.mark ? [{ when: Number(st.mark), what: 'log line' }] : [],
      onZoom: (from, until) => update({ from: String(from), until: String(until) }),
    }) : null;
    if (!g) graphEl.append(h('p', { class: 'muted', text: 'Pick a metric in the tree or type a target.' }));
  };
  draw();
  const every = durationSecs(st.refresh);
  const timer = every > 0 ? setInterval(draw, every * 1000) : null;
  return () => { if (timer) clearInterval(timer); if (g) g.destroy(); };
}
