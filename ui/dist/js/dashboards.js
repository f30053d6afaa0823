// Dashboards: the list (/api/v1/dashboards), and one dashboard as a grid of panels — graph,
// stat (last value with thresholds), logs (the latest lines) and logvolume — with a
// dashboard-wide range, refresh and variables from /metrics/find; saved through the API,
// imported and exported as JSON files, edited with the panel editor (panels.js, edit=1) or as
// raw JSON (edit=json). State (range, refresh, var-NAME, edit) is in the URL.

import { h, select, notice, download } from './dom.js';
import { getJSON, sendJSON } from './api.js';
import { go, href } from './router.js';
import { rangePicker, durationSecs, fmtTime } from './time.js';
import { fmtValue } from './format.js';
import { graphInto } from './graphs.js';
import { drawVolume } from './chart.js';
import { panelEditor } from './panels.js';

// Panels sit on a 12-column grid (docs/format/dashboard.md); one row unit is this many pixels.
const ROW_PX = 70;

function listOf(reply) {
  if (Array.isArray(reply)) return reply;
  return reply?.dashboards || [];
}

async function importFile(file) {
  const doc = JSON.parse(await file.text());
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.panels)) throw new Error('not a dashboard: it has no panels list');
  const id = doc.id;
  delete doc.id;
  const made = id
    ? await sendJSON('PUT', `/api/v1/dashboards/${encodeURIComponent(id)}`, doc).then((r) => r || { id })
    : await sendJSON('POST', '/api/v1/dashboards', doc);
  return made?.id || id;
}

function importButton() {
  const input = h('input', {
    type: 'file', accept: 'application/json,.json', hidden: true,
    onchange: async () => {
      try {
        const id = await importFile(input.files[0]);
        go(`/d/${encodeURIComponent(id)}`);
      } catch (e) { notice(`Import failed: ${e.message}`); }
    },
  });
  return h('span', {}, input, h('button', { type: 'button', text: 'Import JSON…', onclick: () => input.click() }));
}

/** The list of dashboards. */
export function dashboardList(el) {
  const list = h('ul', { class: 'dashlist' }, h('li', { class: 'muted', text: 'Loading…' }));
  const create = async () => {
    try {
      const made = await sendJSON('POST', '/api/v1/dashboards', { title: 'New dashboard', time: { from: '-1h', until: 'now' }, refresh: '', variables: [], panels: [] });
      go(`/d/${encodeURIComponent(made.id)}`, { edit: '1' });
    } catch (e) { notice(e.message); }
  };
  el.append(h('section', { class: 'content' },
    h('div', { class: 'toolbar' }, h('h1', { text: 'Dashboards' }), h('button', { type: 'button', class: 'primary', text: 'New dashboard', onclick: create }), importButton()),
    list));
  getJSON('/api/v1/dashboards').then((r) => {
    list.replaceChildren();
    for (const d of listOf(r)) {
      list.append(h('li', {}, h('a', { href: `/d/${encodeURIComponent(d.id)}`, text: d.title || d.id }), h('span', { class: 'muted', text: ` ${d.id}` })));
    }
    if (!list.children.length) list.append(h('li', { class: 'muted', text: 'No dashboards yet.' }));
  }).catch((e) => list.replaceChildren(h('li', { class: 'error', text: e.message })));
}

/** Replaces $name and ${name} with the variables' values. */
export function substitute(text, vars) {
  return String(text ?? '').replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a, b) => (vars[a || b] ?? m));
}

function panelTargets(p) {
  if (Array.isArray(p.targets)) return p.targets;
  if (p.target) return [p.target];
  return [];
}

function statPanel(body, p, vars, from, until) {
  const t = panelTargets(p).map((x) => substitute(x, vars));
  getJSON('/render', { target: t, from, until, format: 'json', maxDataPoints: 100 }).then((series) => {
    let last = null;
    for (const s of series) for (const [v] of s.datapoints) if (v !== null) last = v;
    const th = (p.thresholds || []).filter((x) => last !== null && last >= x.value).pop();
    body.replaceChildren(h('div', { class: 'stat', style: th?.color ? { color: th.color } : {}, text: fmtValue(last, p.unit) }));
  }).catch((e) => body.replaceChildren(h('p', { class: 'error', text: e.message })));
  return null;
}

function logsPanel(body, p, vars, from, until) {
  const component = substitute(p.component || '*', vars);
  getJSON('/api/v1/logs', { component, from, until, level: p.level, host: p.host, contains: p.contains, limit: p.limit || 100, order: 'desc' }).then((page) => {
    const rows = page.logs.map((r) => h('div', { class: 'vrow static' },
      h('span', { class: 'ts', text: fmtTime(r.ts_ns / 1e9) }), h('span', { class: `lvl lvl-${r.level}`, text: r.level }),
      h('span', { class: 'comp', text: r.component }), h('span', { class: 'msg', text: r.message })));
    body.replaceChildren(h('div', { class: 'panel-logs' }, rows.length ? rows : h('p', { class: 'muted', text: 'no logs in this range' })),
      h('a', { href: href('/logs', { component, from, until }), text: 'open in Logs' }));
  }).catch((e) => body.replaceChildren(h('p', { class: 'error', text: e.message })));
  return null;
}

function volumePanel(body, p, vars, from, until, height) {
  let v = null;
  const component = substitute(p.component || '*', vars);
  getJSON('/api/v1/logs/histogram', { component, from, until }).then((hist) => {
    body.replaceChildren();
    v = drawVolume(body, hist, (f, u) => go('/logs', { component, from: String(f), until: String(u) }), height);
  }).catch((e) => body.replaceChildren(h('p', { class: 'error', text: e.message })));
  return { destroy() { if (v) v.destroy(); } };
}

function variableControls(doc, vars, params, onChange) {
  return (doc.variables || []).map((v) => {
    const s = select([[vars[v.name] ?? '', vars[v.name] ?? 'loading…']], vars[v.name] ?? '', (val) => onChange(v.name, val), { 'aria-label': `variable ${v.name}` });
    getJSON('/metrics/find', { query: v.query }).then((nodes) => {
      const vals = ['*', ...nodes.map((n) => n.text)];
      s.replaceChildren(...vals.map((x) => h('option', { value: x, text: x })));
      s.value = vars[v.name] ?? '*';
    }).catch(() => {});
    return h('label', { class: 'field' }, h('span', { text: `$${v.name}` }), s);
  });
}

/** One dashboard: /d/<id>. */
export function dashboardView(el, params, m) {
  const id = decodeURIComponent(m[1]);
  let handles = [];
  let timer = null;
  let dead = false;
  const host = h('section', { class: 'content' }, h('p', { class: 'muted', text: 'Loading…' }));
  el.append(host);
  getJSON(`/api/v1/dashboards/${encodeURIComponent(id)}`).then((doc) => {
    if (dead) return;
    const from = params.get('from') || doc.time?.from || '-1h';
    const until = params.get('until') || doc.time?.until || 'now';
    const refresh = params.has('refresh') ? params.get('refresh') : (doc.refresh || '');
    const vars = {};
    for (const v of doc.variables || []) vars[v.name] = params.get(`var-${v.name}`) || '*';
    // Only what the URL already set is carried on, so a saved range applies after a save.
    const urlState = (patch = {}) => {
      const p = { edit: params.get('edit') || '' };
      for (const k of ['from', 'until', 'refresh']) if (params.has(k)) p[k] = params.get(k);
      for (const [k, v] of Object.entries(vars)) p[`var-${k}`] = v;
      return { ...p, ...patch };
    };
    const save = async (d) => {
      const body = { ...d };
      delete body.id;
      await sendJSON('PUT', `/api/v1/dashboards/${encodeURIComponent(id)}`, body);
      notice('Saved', 'ok');
    };
    const grid = h('div', { class: 'grid' });
    const editor = h('textarea', { class: 'json', spellcheck: 'false', 'aria-label': 'dashboard JSON' });
    editor.value = JSON.stringify({ ...doc, id: undefined }, null, 2);
    const editing = params.get('edit') || '';
    const editMode = (mode) => go(`/d/${encodeURIComponent(id)}`, urlState({ edit: editing === mode ? '' : mode }));
    host.replaceChildren(
      h('div', { class: 'toolbar' },
        h('h1', { text: doc.title || id }),
        rangePicker({ from, until, refresh }, (r) => go(`/d/${encodeURIComponent(id)}`, urlState(r))),
        ...variableControls(doc, vars, params, (name, val) => { vars[name] = val; go(`/d/${encodeURIComponent(id)}`, urlState()); }),
        h('button', {
          type: 'button', text: 'Save range as default', onclick: () => save({ ...doc, time: { from, until }, refresh }).catch((e) => notice(e.message)),
        }),
        h('button', { type: 'button', text: 'Export JSON', onclick: () => download(`${id}.json`, JSON.stringify({ ...doc, id }, null, 2)) }),
        importButton(),
        h('button', { type: 'button', text: editing === '1' ? 'Close panel editor' : 'Edit panels', onclick: () => editMode('1') }),
        h('button', { type: 'button', text: editing === 'json' ? 'Close JSON' : 'Edit JSON', onclick: () => editMode('json') }),
        h('button', {
          type: 'button', text: 'Delete', class: 'danger', onclick: async () => {
            if (!window.confirm(`Delete dashboard ${doc.title || id}?`)) return;
            try { await sendJSON('DELETE', `/api/v1/dashboards/${encodeURIComponent(id)}`); go('/dashboards'); } catch (e) { notice(e.message); }
          },
        })),
      editing === '1' ? panelEditor(doc, {
        onSave: async (d) => { await save(d); go(`/d/${encodeURIComponent(id)}`, urlState({ edit: '' })); },
        onCancel: () => editMode('1'),
      }) : '',
      editing === 'json' ? h('div', { class: 'editor' }, editor, h('button', {
        type: 'button', class: 'primary', text: 'Save', onclick: async () => {
          let d;
          try { d = JSON.parse(editor.value); } catch (e) { notice(`Not JSON: ${e.message}`); return; }
          try { await save(d); go(`/d/${encodeURIComponent(id)}`, urlState({ edit: '' })); } catch (e) { notice(e.message); }
        },
      })) : '',
      grid);
    const drawPanels = () => {
      handles.forEach((x) => x && x.destroy());
      handles = [];
      grid.replaceChildren();
      for (const p of doc.panels || []) {
        const g = p.grid || p;
        const heightPx = Math.max(2, g.h || 4) * ROW_PX;
        const body = h('div', { class: 'panel-body' });
        grid.append(h('div', {
          class: `panel panel-${p.type}`,
          style: { gridColumn: `${(g.x || 0) + 1} / span ${g.w || 6}`, gridRow: `${(g.y || 0) + 1} / span ${g.h || 4}` },
        }, h('h3', { text: substitute(p.title || '', vars) }), body));
        if (p.type === 'graph') {
          handles.push(graphInto(body, panelTargets(p).map((t) => substitute(t, vars)), from, until, {
            unit: p.unit, errors: !!p.errors, height: heightPx - 90, legend: p.legend !== false,
            onZoom: (f, u) => go(`/d/${encodeURIComponent(id)}`, urlState({ from: String(f), until: String(u) })),
          }));
        } else if (p.type === 'stat') handles.push(statPanel(body, p, vars, from, until));
        else if (p.type === 'logs') handles.push(logsPanel(body, p, vars, from, until));
        else if (p.type === 'logvolume') handles.push(volumePanel(body, p, vars, from, until, heightPx - 70));
        else body.append(h('p', { class: 'error', text: `unknown panel type ${p.type}` }));
      }
      if (!(doc.panels || []).length) grid.append(h('p', { class: 'muted', text: 'No panels: use Edit panels to add some.' }));
    };
    drawPanels();
    const every = durationSecs(refresh);
    if (every > 0) timer = setInterval(drawPanels, every * 1000);
  }).catch((e) => host.replaceChildren(h('p', { class: 'error', text: e.message })));
  return () => { dead = true; if (timer) clearInterval(timer); handles.forEach((x) => x && x.destroy()); };
}
