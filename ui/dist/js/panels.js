// The dashboard panel editor: a form over a working copy of a dashboard document that adds,
// edits, removes, reorders, moves and resizes panels (graph | stat | logs | logvolume) and
// hands the edited document to onSave. Targets get the same completion as Explore. It does not
// draw panels or talk to the dashboards API: dashboards.js does both.

import { h, select, field } from './dom.js';
import { UNITS } from './format.js';
import { attachCompletion } from './complete.js';
import { SEVERITY_COLORS } from './chart.js';

export const PANEL_TYPES = [['graph', 'graph'], ['stat', 'stat (single value)'], ['logs', 'log lines'], ['logvolume', 'log volume']];
const LEVELS = [['', 'any level'], ...SEVERITY_COLORS.map(([n]) => [n, `${n} and worse`])];
// The grid is 12 columns wide (docs/format/dashboard.md); 24 rows is taller than any screen.
const COLS = 12;
const MAX_H = 24;

const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, Number.isFinite(v) ? Math.round(v) : lo));

/** The grid of a panel, made whole and inside the 12 columns. */
export function fitGrid(g = {}) {
  const w = clamp(g.w ?? 6, 1, COLS);
  const x = clamp(g.x ?? 0, 0, COLS - w);
  return { x, y: clamp(g.y ?? 0, 0, 1000), w, h: clamp(g.h ?? 4, 1, MAX_H) };
}

/** A new panel of a type, placed below every existing panel. */
export function newPanel(type, panels) {
  const y = panels.reduce((m, p) => Math.max(m, fitGrid(p.grid).y + fitGrid(p.grid).h), 0);
  const grid = { x: 0, y, w: type === 'stat' ? 3 : 6, h: type === 'stat' ? 2 : 4 };
  const base = { type, title: '', grid };
  if (type === 'graph') return { ...base, targets: [''], unit: '' };
  if (type === 'stat') return { ...base, target: '', unit: '', thresholds: [] };
  return { ...base, component: '' };
}

/** Keeps what a panel of its type uses, drops empty targets and thresholds, fixes the grid. */
export function cleanPanel(p) {
  const out = { ...p, grid: fitGrid(p.grid) };
  if (p.type === 'graph') out.targets = (p.targets || []).map((t) => t.trim()).filter(Boolean);
  if (p.type === 'stat') {
    out.target = String(p.target ?? (p.targets || [])[0] ?? '').trim();
    delete out.targets;
    out.thresholds = (p.thresholds || []).filter((t) => Number.isFinite(t.value)).sort((a, b) => a.value - b.value);
  }
  for (const k of ['unit', 'level', 'contains', 'host']) if (out[k] === '') delete out[k];
  return out;
}

function textInput(value, onInput, attrs = {}) {
  return h('input', { type: 'text', value: value ?? '', oninput: (e) => onInput(e.target.value), ...attrs });
}

function numberInput(value, onInput, attrs = {}) {
  return h('input', { type: 'number', value: String(value), oninput: (e) => onInput(Number(e.target.value)), ...attrs });
}

function targetInput(value, onInput, label) {
  const input = textInput(value, onInput, { class: 'target', spellcheck: 'false', placeholder: 'metric.path.* or function(…)', 'aria-label': label });
  // Completion writes the value itself (no input event), so the draft also follows on keyup
  // and when the field loses focus, which a click on Save does first.
  for (const ev of ['change', 'keyup', 'blur']) input.addEventListener(ev, () => onInput(input.value));
  return attachCompletion(input);
}

/** The fields of one panel, by its type. */
function panelFields(p, n, redraw) {
  const out = [];
  if (p.type === 'graph') {
    if (!Array.isArray(p.targets)) p.targets = p.target ? [p.target] : [''];
    const rows = p.targets.map((t, i) => h('div', { class: 'target-row' },
      targetInput(t, (v) => { p.targets[i] = v; }, `panel ${n} target ${i + 1}`),
      h('button', { type: 'button', title: 'remove this target', text: '✕', onclick: () => { p.targets.splice(i, 1); redraw(); } })));
    out.push(h('div', { class: 'targets' }, rows),
      h('div', { class: 'row' },
        h('button', { type: 'button', text: '+ target', onclick: () => { p.targets.push(''); redraw(); } }),
        field('Unit', select(UNITS, p.unit || '', (v) => { p.unit = v; }, { 'aria-label': `panel ${n} unit` })),
        h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: !!p.errors, onchange: (e) => { p.errors = e.target.checked; } }), 'error logs')));
  } else if (p.type === 'stat') {
    if (p.target === undefined) p.target = (p.targets || [])[0] || '';
    if (!Array.isArray(p.thresholds)) p.thresholds = [];
    out.push(h('div', { class: 'targets' }, h('div', { class: 'target-row' }, targetInput(p.target, (v) => { p.target = v; }, `panel ${n} target`))),
      h('div', { class: 'row' },
        field('Unit', select(UNITS, p.unit || '', (v) => { p.unit = v; }, { 'aria-label': `panel ${n} unit` })),
        ...p.thresholds.map((t, i) => h('span', { class: 'threshold' },
          field(`≥`, numberInput(t.value, (v) => { t.value = v; }, { step: 'any', 'aria-label': `panel ${n} threshold ${i + 1} value` })),
          h('input', { type: 'color', value: /^#[0-9a-f]{6}$/i.test(t.color || '') ? t.color : '#e5534b', oninput: (e) => { t.color = e.target.value; }, 'aria-label': `panel ${n} threshold ${i + 1} color` }),
          h('button', { type: 'button', title: 'remove this threshold', text: '✕', onclick: () => { p.thresholds.splice(i, 1); redraw(); } }))),
        h('button', {
          type: 'button', text: '+ threshold',
          onclick: () => { const last = p.thresholds[p.thresholds.length - 1]; p.thresholds.push({ value: last ? last.value + 10 : 80, color: '#e5534b' }); redraw(); },
        })));
  } else {
    out.push(h('div', { class: 'row' }, field('Component', textInput(p.component, (v) => { p.component = v; }, { placeholder: 'component (glob)', 'aria-label': `panel ${n} component` }))));
    if (p.type === 'logs') {
      out[0].append(
        field('Level', select(LEVELS, p.level || '', (v) => { p.level = v; }, { 'aria-label': `panel ${n} level` })),
        field('Host', textInput(p.host, (v) => { p.host = v; }, { placeholder: 'host (glob)', 'aria-label': `panel ${n} host` })),
        field('Contains', textInput(p.contains, (v) => { p.contains = v; }, { 'aria-label': `panel ${n} contains` })),
        field('Lines', numberInput(p.limit ?? 100, (v) => { p.limit = clamp(v, 1, 1000); }, { min: 1, max: 1000, 'aria-label': `panel ${n} lines` })));
    }
  }
  return out;
}

/** The position and size of a panel: column, row, width, height, and nudges. */
function gridFields(p, n, redraw) {
  p.grid = fitGrid(p.grid);
  const g = p.grid;
  const set = (k) => (v) => { g[k] = v; };
  const nudge = (dx, dy, dw, dh) => () => { p.grid = fitGrid({ x: g.x + dx, y: g.y + dy, w: g.w + dw, h: g.h + dh }); redraw(); };
  return h('div', { class: 'row grid-fields' },
    field('Column', numberInput(g.x, set('x'), { min: 0, max: COLS - 1, 'aria-label': `panel ${n} column` })),
    field('Row', numberInput(g.y, set('y'), { min: 0, 'aria-label': `panel ${n} row` })),
    field('Width', numberInput(g.w, set('w'), { min: 1, max: COLS, 'aria-label': `panel ${n} width` })),
    field('Height', numberInput(g.h, set('h'), { min: 1, max: MAX_H, 'aria-label': `panel ${n} height` })),
    h('span', { class: 'nudges' },
      h('button', { type: 'button', title: 'move left', text: '←', onclick: nudge(-1, 0, 0, 0) }),
      h('button', { type: 'button', title: 'move right', text: '→', onclick: nudge(1, 0, 0, 0) }),
      h('button', { type: 'button', title: 'move up a row', text: '↑', onclick: nudge(0, -1, 0, 0) }),
      h('button', { type: 'button', title: 'move down a row', text: '↓', onclick: nudge(0, 1, 0, 0) }),
      h('button', { type: 'button', title: 'narrower', text: '−w', onclick: nudge(0, 0, -1, 0) }),
      h('button', { type: 'button', title: 'wider', text: '+w', onclick: nudge(0, 0, 1, 0) }),
      h('button', { type: 'button', title: 'shorter', text: '−h', onclick: nudge(0, 0, 0, -1) }),
      h('button', { type: 'button', title: 'taller', text: '+h', onclick: nudge(0, 0, 0, 1) })));
}

/**
 * The panel editor for `doc` (not changed: it edits a copy). onSave(newDoc) stores it and may
 * throw; onCancel() leaves the editor.
 */
export function panelEditor(doc, { onSave, onCancel }) {
  const draft = JSON.parse(JSON.stringify(doc));
  delete draft.id;
  if (!Array.isArray(draft.panels)) draft.panels = [];
  const list = h('div', { class: 'panel-forms' });
  const status = h('span', { class: 'muted' });
  const redraw = () => {
    list.replaceChildren(...draft.panels.map((p, i) => {
      const n = i + 1;
      const move = (d) => () => { const [x] = draft.panels.splice(i, 1); draft.panels.splice(i + d, 0, x); redraw(); };
      return h('fieldset', { class: 'panel-form', 'data-index': String(i) },
        h('legend', { text: `Panel ${n}` }),
        h('div', { class: 'row' },
          field('Type', select(PANEL_TYPES, p.type, (v) => {
            // A new type keeps the title, the place and what carries over (target, component).
            const next = { ...newPanel(v, []), title: p.title, grid: p.grid };
            const first = (p.targets || [])[0] ?? p.target;
            if (v === 'graph' && first) next.targets = [first];
            if (v === 'stat' && first) next.target = first;
            if ((v === 'logs' || v === 'logvolume') && p.component) next.component = p.component;
            draft.panels[i] = next;
            redraw();
          }, { 'aria-label': `panel ${n} type` })),
          field('Title', textInput(p.title, (v) => { p.title = v; }, { 'aria-label': `panel ${n} title` })),
          h('span', { class: 'spacer' }),
          h('button', { type: 'button', title: 'earlier in the list', text: '▲', disabled: i === 0, onclick: move(-1) }),
          h('button', { type: 'button', title: 'later in the list', text: '▼', disabled: i === draft.panels.length - 1, onclick: move(1) }),
          h('button', { type: 'button', class: 'danger', text: 'Remove', 'aria-label': `remove panel ${n}`, onclick: () => { draft.panels.splice(i, 1); redraw(); } })),
        ...panelFields(p, n, redraw),
        gridFields(p, n, redraw));
    }));
    if (!draft.panels.length) list.append(h('p', { class: 'muted', text: 'No panels yet: add one.' }));
  };
  redraw();
  const addType = select(PANEL_TYPES, 'graph', () => {}, { 'aria-label': 'new panel type' });
  return h('div', { class: 'panel-editor' },
    h('div', { class: 'row' }, field('Dashboard title', textInput(draft.title, (v) => { draft.title = v; }, { 'aria-label': 'dashboard title' }))),
    list,
    h('div', { class: 'row' },
      addType,
      h('button', { type: 'button', text: 'Add panel', onclick: () => { draft.panels.push(newPanel(addType.value, draft.panels)); redraw(); } }),
      h('span', { class: 'spacer' }),
      status,
      h('button', { type: 'button', text: 'Cancel', onclick: onCancel }),
      h('button', {
        type: 'button', class: 'primary', text: 'Save panels',
        onclick: async () => {
          const out = { ...draft, title: draft.title.trim() || 'Untitled', panels: draft.panels.map(cleanPanel) };
          status.textContent = 'Saving…';
          try { await onSave(out); status.textContent = ''; } catch (e) { status.textContent = e.message; status.className = 'error'; }
        },
      })));
}
