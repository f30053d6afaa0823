// The Logs view: the component tree with counts, filters (level, host, contains, regex, fields),
// the log-volume bars by severity, the virtual list paged by cursor, a detail pane with the
// fields and "graphs around this", and live tail through fetch (so the token header is sent).
// All state is in the URL (component, from, until, level, host, contains, regex, field…, order,
// tail).

import { h, select, field, notice } from './dom.js';
import { getJSON, stream } from './api.js';
import { go } from './router.js';
import { rangePicker, fmtTime } from './time.js';
import { drawVolume, SEVERITY_COLORS } from './chart.js';
import { VirtualList } from './vlist.js';
import { graphsAroundHref } from './correlate.js';

const PAGE = 1000;
const ROW_HEIGHT = 24;
const MAX_ROWS = 200000;
const LEVELS = [['', 'any level'], ...SEVERITY_COLORS.map(([n]) => [n, `${n} and worse`])];

function state(params) {
  return {
    component: params.get('component') || '',
    from: params.get('from') || '-15min',
    until: params.get('until') || 'now',
    level: params.get('level') || '',
    host: params.get('host') || '',
    contains: params.get('contains') || '',
    regex: params.get('regex') || '',
    field: params.getAll('field'),
    order: params.get('order') || 'desc',
    tail: params.get('tail') || '',
    metric: params.get('metric') || '',
  };
}

/** The /api/v1/logs parameters of a state: field=K=V becomes field.K=V. */
export function queryParams(st) {
  const p = {
    component: st.component || '*', from: st.from, until: st.until, level: st.level, host: st.host,
    contains: st.contains, regex: st.regex, order: st.order,
  };
  for (const f of st.field) {
    const i = f.indexOf('=');
    if (i > 0) p[`field.${f.slice(0, i)}`] = f.slice(i + 1);
  }
  return p;
}

function componentTree(prefix, current, onPick) {
  const ul = h('ul', { class: 'tree' }, h('li', { class: 'muted', text: 'Loading…' }));
  getJSON('/api/v1/logs/components', { query: prefix ? `${prefix}.*` : '*' }).then((nodes) => {
    ul.replaceChildren();
    if (!nodes.length && !prefix) ul.append(h('li', { class: 'muted', text: 'no logs yet' }));
    for (const n of nodes) {
      const li = h('li', {});
      let child = null;
      const open = h('button', {
        type: 'button', class: 'toggle', text: n.expandable ? '▸' : ' ', disabled: !n.expandable, 'aria-label': `expand ${n.id}`,
        onclick: () => {
          if (child) { child.remove(); child = null; open.textContent = '▸'; return; }
          child = componentTree(n.id, current, onPick);
          open.textContent = '▾';
          li.append(child);
        },
      });
      li.append(open, h('button', {
        type: 'button', class: `branch${n.id === current ? ' active' : ''}`, title: n.id, onclick: () => onPick(n.id),
      }, h('span', { text: n.text }), h('span', { class: 'count', text: String(n.total ?? n.count ?? '') })));
      ul.append(li);
      if (current && (current === n.id || current.startsWith(`${n.id}.`)) && n.expandable) open.click();
    }
  }).catch((e) => ul.replaceChildren(h('li', { class: 'error', text: e.message })));
  return ul;
}

function fillRow(row, r) {
  if (!row.firstChild) {
    row.append(h('span', { class: 'ts' }), h('span', { class: 'lvl' }), h('span', { class: 'comp' }), h('span', { class: 'host' }), h('span', { class: 'msg' }));
  }
  const [ts, lvl, comp, host, msg] = row.children;
  ts.textContent = r.ts ? fmtTime(r.ts_ns / 1e9) : '';
  lvl.textContent = r.level ?? '';
  lvl.className = `lvl lvl-${r.level}`;
  comp.textContent = r.component ?? '';
  host.textContent = r.host ?? '';
  msg.textContent = r.message ?? '';
}

function detail(r) {
  const fields = Object.entries(r.fields || {});
  return h('div', { class: 'detail' },
    h('div', { class: 'row' },
      h('strong', { text: `${fmtTime(r.ts_ns / 1e9)} ` }),
      h('span', { class: `lvl lvl-${r.level}`, text: r.level }),
      h('span', { text: ` ${r.component} on ${r.host}` }),
      h('a', { href: graphsAroundHref(r.component, r.ts_ns / 1e9), class: 'button', text: 'Graphs around this (±15 min)' })),
    h('pre', { class: 'message', text: r.message }),
    fields.length ? h('table', { class: 'fields' }, fields.map(([k, v]) => h('tr', {}, h('th', { text: k }), h('td', { text: v })))) : h('p', { class: 'muted', text: 'no fields' }),
    h('p', { class: 'muted', text: `ts ${r.ts} · facility ${r.facility ?? ''} · severity ${r.severity}` }));
}

/** Renders the Logs view into el. */
export function logs(el, params) {
  const st = state(params);
  const update = (patch) => go('/logs', { ...st, ...patch });
  const abort = new AbortController();

  const inputs = {
    component: h('input', { type: 'text', value: st.component, placeholder: 'component (glob)', 'aria-label': 'component', name: 'component' }),
    host: h('input', { type: 'text', value: st.host, placeholder: 'host (glob)', name: 'host' }),
    contains: h('input', { type: 'text', value: st.contains, placeholder: 'contains', name: 'contains' }),
    regex: h('input', { type: 'text', value: st.regex, placeholder: 'regex', name: 'regex' }),
    field: h('input', { type: 'text', value: st.field.join(' '), placeholder: 'key=value …', name: 'field' }),
  };
  const level = select(LEVELS, st.level, () => {}, { 'aria-label': 'level' });
  const order = select([['desc', 'newest first'], ['asc', 'oldest first']], st.order, () => {}, { 'aria-label': 'order' });
  const form = h('form', {
    class: 'filters',
    onsubmit: (e) => {
      e.preventDefault();
      update({
        component: inputs.component.value.trim(), host: inputs.host.value.trim(), contains: inputs.contains.value,
        regex: inputs.regex.value, field: inputs.field.value.split(/\s+/).filter((f) => f.includes('=')),
        level: level.value, order: order.value,
      });
    },
  },
  field('Component', inputs.component), field('Level', level), field('Host', inputs.host),
  field('Contains', inputs.contains), field('Regex', inputs.regex), field('Fields', inputs.field), field('Order', order),
  h('button', { type: 'submit', class: 'primary', text: 'Search' }));

  const parent = st.component.includes('.') ? st.component.slice(0, st.component.lastIndexOf('.')) : '';
  const widen = parent ? h('button', { type: 'button', class: 'widen', text: `Widen to ${parent}`, onclick: () => update({ component: parent }) }) : null;
  const tailBox = h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: st.tail === '1', onchange: (e) => update({ tail: e.target.checked ? '1' : '' }) }), 'live tail');
  const status = h('span', { class: 'muted status' });
  const volumeEl = h('div', { class: 'volume' });
  const listHost = h('div', { class: 'list-host' });
  const detailEl = h('div', { class: 'detail-host' }, h('p', { class: 'muted', text: 'Click a line for its fields.' }));
  el.append(h('div', { class: 'split' },
    h('aside', { class: 'sidebar' }, h('h2', { text: 'Components' }), componentTree('', st.component, (c) => update({ component: c }))),
    h('section', { class: 'content logs' },
      form,
      h('div', { class: 'toolbar' }, rangePicker({ from: st.from, until: st.until }, (r) => update({ from: r.from, until: r.until })), tailBox, widen,
        st.metric ? h('span', { class: 'muted', text: `from ${st.metric}` }) : null),
      volumeEl, status, listHost, detailEl)));

  let volume = null;
  getJSON('/api/v1/logs/histogram', { component: st.component || '*', from: st.from, until: st.until }, { signal: abort.signal })
    .then((hist) => { volume = drawVolume(volumeEl, hist, (f, u) => update({ from: String(f), until: String(u) })); })
    .catch((e) => { if (!abort.signal.aborted) volumeEl.replaceChildren(h('p', { class: 'error', text: e.message })); });

  const list = new VirtualList(listHost, {
    rowHeight: ROW_HEIGHT,
    fill: fillRow,
    onNearEnd: () => more(),
    onSelect: (r) => detailEl.replaceChildren(detail(r)),
  });
  let cursor = null;
  let loading = false;
  let done = false;
  let took = 0;
  const base = queryParams(st);
  const showStatus = () => {
    status.textContent = `${list.items.length.toLocaleString()} lines${done ? '' : ' (scroll for more)'}${took ? ` · last page ${took} ms on the server` : ''}`;
  };
  async function more() {
    if (loading || done) return;
    loading = true;
    try {
      const page = await getJSON('/api/v1/logs', { ...base, limit: PAGE, cursor }, { signal: abort.signal });
      cursor = page.next_cursor || null;
      done = !cursor || !page.logs.length || list.items.length + page.logs.length >= MAX_ROWS;
      took = page.stats?.took_ms ?? 0;
      list.append(page.logs);
      showStatus();
      // The browser tests time the first page from navigation to this mark.
      if (!performance.getEntriesByName('lookout:first-logs').length) performance.mark('lookout:first-logs');
    } catch (e) {
      if (!abort.signal.aborted) { status.textContent = e.message; status.className = 'error status'; done = true; }
    } finally {
      loading = false;
    }
    if (!done) list.schedule();
  }
  list.set([]);
  more();

  if (st.tail === '1') {
    const tp = { component: st.component || '*', level: st.level, contains: st.contains };
    stream('/api/v1/logs/tail', tp, (type, data) => {
      if (type === 'log') {
        let r;
        try { r = JSON.parse(data); } catch { return; }
        if (st.order === 'desc') { list.prepend([r]); list.cap(MAX_ROWS); } else if (list.append([r])) list.scrollToEnd();
        showStatus();
      } else if (type === 'lagged') {
        notice('Live tail stopped: this page read too slowly. Turn it off and on to resume.');
      }
    }, abort.signal).catch((e) => { if (!abort.signal.aborted) notice(`Live tail: ${e.message}`); });
  }
  return () => { abort.abort(); list.destroy(); if (volume) volume.destroy(); };
}
