// Graphs on uPlot: render JSON → aligned columns, a legend with min/max/avg/last and the value
// under the crosshair, drag to select a range (then "Zoom" or "Logs for this"), events drawn as
// vertical markers and log error counts as bars on their own axis. Also the stacked log-volume
// bars. Knows nothing about URLs or the API: views pass data and callbacks in.

import { h, clear } from './dom.js';
import { fmtValue, stats } from './format.js';
import { fmtTime } from './time.js';

const PALETTE = ['#3d8bfd', '#f0a020', '#2fb37c', '#e8475b', '#9b6cf0', '#19b5c8', '#d6649c', '#8a9a2b', '#c97a3d', '#6f7f99'];

/** Severity → bar colour, most severe first (the order of the histogram's counts). */
export const SEVERITY_COLORS = [
  ['emerg', '#b0003a'], ['alert', '#d1004f'], ['crit', '#e8475b'], ['err', '#f06a3c'],
  ['warning', '#f0a020'], ['notice', '#3d8bfd'], ['info', '#2fb37c'], ['debug', '#8a94a6'],
];

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/**
 * Aligns render series ({target, datapoints: [[value, ts]]}) on one time axis: the union of their
 * timestamps, with nulls where a series has no point.
 */
export function align(series) {
  if (series.length === 0) return [[]];
  const first = series[0].datapoints;
  const same = series.every((s) => s.datapoints.length === first.length
    && (first.length === 0 || (s.datapoints[0][1] === first[0][1] && s.datapoints[first.length - 1][1] === first[first.length - 1][1])));
  if (same) {
    return [first.map((p) => p[1]), ...series.map((s) => s.datapoints.map((p) => p[0]))];
  }
  const all = new Set();
  for (const s of series) for (const p of s.datapoints) all.add(p[1]);
  const xs = [...all].sort((a, b) => a - b);
  const at = new Map(xs.map((t, i) => [t, i]));
  return [xs, ...series.map((s) => {
    const ys = new Array(xs.length).fill(null);
    for (const [v, t] of s.datapoints) ys[at.get(t)] = v;
    return ys;
  })];
}

function eventsPlugin(events) {
  return {
    hooks: {
      draw: (u) => {
        if (!events || !events.length) return;
        const { ctx } = u;
        const { top, height } = u.bbox;
        ctx.save();
        ctx.strokeStyle = cssVar('--event', '#c04dff');
        ctx.fillStyle = ctx.strokeStyle;
        ctx.setLineDash([4, 3]);
        ctx.lineWidth = 1 * devicePixelRatio;
        ctx.font = `${11 * devicePixelRatio}px sans-serif`;
        const [lo, hi] = [u.scales.x.min, u.scales.x.max];
        for (const ev of events) {
          const t = Number(ev.when);
          if (!(t >= lo && t <= hi)) continue;
          const x = Math.round(u.valToPos(t, 'x', true));
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          ctx.fillText(String(ev.what ?? '').slice(0, 40), x + 3, top + 12 * devicePixelRatio);
        }
        ctx.restore();
      },
    },
  };
}

function axisStyle() {
  const fg = cssVar('--muted', '#888');
  const grid = cssVar('--grid', 'rgba(128,128,128,0.2)');
  return { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
}

/**
 * Draws a graph into `el` and returns {destroy, uplot}.
 * opts: series (render JSON), unit, events ([{when, what, tags}]), errors (a render series of
 * error counts or null), height, onSelect(from, until, action) with action 'zoom' | 'logs',
 * legend (default true).
 */
export function drawGraph(el, opts) {
  clear(el);
  const series = opts.series || [];
  const unit = opts.unit || '';
  const withErrors = opts.errors && opts.errors.datapoints && opts.errors.datapoints.length;
  const all = withErrors ? [...series, opts.errors] : series;
  const data = align(all);
  const wrap = h('div', { class: 'graph' });
  const legendEl = h('table', { class: 'legend' });
  el.append(wrap);
  if (opts.legend !== false) el.append(legendEl);
  if (series.length === 0) {
    wrap.append(h('p', { class: 'muted empty', text: 'No data for these targets in this range.' }));
    return { destroy() {}, uplot: null };
  }
  const ax = axisStyle();
  const uSeries = [{ value: (u, v) => (v == null ? '' : fmtTime(v)) }];
  series.forEach((s, i) => uSeries.push({
    label: s.target,
    stroke: PALETTE[i % PALETTE.length],
    width: 1.5,
    spanGaps: false,
    value: (u, v) => fmtValue(v, unit),
  }));
  if (withErrors) {
    uSeries.push({
      label: opts.errors.target,
      scale: 'err',
      stroke: '#e8475b',
      fill: 'rgba(232,71,91,0.35)',
      paths: uPlot.paths.bars({ size: [0.8, 8] }),
      points: { show: false },
    });
  }
  const axes = [
    { ...ax },
    { ...ax, values: (u, vals) => vals.map((v) => fmtValue(v, unit)), size: 60 },
  ];
  if (withErrors) axes.push({ ...ax, scale: 'err', side: 1, grid: { show: false }, size: 40, label: 'errors' });
  let popover = null;
  const closePopover = () => { if (popover) { popover.remove(); popover = null; } };
  const legendRows = [];
  const width = () => Math.max(200, el.clientWidth || 600);
  const u = new uPlot({
    width: width(),
    height: opts.height || 300,
    series: uSeries,
    axes,
    legend: { show: false },
    scales: { x: { time: true }, err: { range: (u, mn, mx) => [0, Math.max(1, mx) * 3] } },
    cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 6 } },
    plugins: [eventsPlugin(opts.events)],
    hooks: {
      setSelect: [(u) => {
        closePopover();
        if (u.select.width < 3 || !opts.onSelect) return;
        const from = Math.floor(u.posToVal(u.select.left, 'x'));
        const until = Math.ceil(u.posToVal(u.select.left + u.select.width, 'x'));
        const act = (action) => () => { closePopover(); u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false); opts.onSelect(from, until, action); };
        popover = h('div', { class: 'popover', style: { left: `${u.over.offsetLeft + u.select.left}px`, top: `${u.over.offsetTop + 4}px` } },
          h('span', { class: 'muted', text: `${fmtTime(from)} → ${fmtTime(until)}` }),
          h('button', { type: 'button', text: 'Zoom', onclick: act('zoom') }),
          h('button', { type: 'button', text: 'Logs for this', class: 'primary', onclick: act('logs') }),
          h('button', { type: 'button', text: '×', title: 'close', onclick: () => { closePopover(); u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false); } }));
        wrap.append(popover);
      }],
      setCursor: [(u) => {
        const i = u.cursor.idx;
        legendRows.forEach((r, k) => {
          r.textContent = i == null ? '' : fmtValue(u.data[k + 1][i], unit);
        });
      }],
    },
  }, data, wrap);
  if (opts.legend !== false) {
    legendEl.append(h('thead', {}, h('tr', {}, ['', 'series', 'min', 'max', 'avg', 'last', 'hover'].map((t) => h('th', { text: t })))));
    const body = h('tbody');
    series.forEach((s, i) => {
      const st = stats(data[i + 1]);
      const hover = h('td', { class: 'num' });
      legendRows.push(hover);
      const row = h('tr', {
        title: 'click to hide or show',
        onclick: () => { const show = !u.series[i + 1].show; u.setSeries(i + 1, { show }); row.classList.toggle('off', !show); },
      },
      h('td', {}, h('span', { class: 'swatch', style: { background: PALETTE[i % PALETTE.length] } })),
      h('td', { class: 'name', text: s.target }),
      ...['min', 'max', 'avg', 'last'].map((k) => h('td', { class: 'num', text: fmtValue(st[k], unit) })),
      hover);
      body.append(row);
    });
    legendEl.append(body);
  }
  const ro = new ResizeObserver(() => u.setSize({ width: width(), height: opts.height || 300 }));
  ro.observe(el);
  return { destroy() { ro.disconnect(); u.destroy(); }, uplot: u };
}

/**
 * Stacked log-volume bars from /api/v1/logs/histogram ({step, buckets: [{ts, counts}]}).
 * onSelect(from, until) narrows the range.
 */
export function drawVolume(el, hist, onSelect, height = 120) {
  clear(el);
  const buckets = hist.buckets || [];
  const xs = buckets.map((b) => b.ts + (hist.step || 0) / 2);
  // Cumulative from the most severe up, drawn tallest first so each colour shows its own share.
  const cum = [];
  let acc = buckets.map(() => 0);
  for (const [name] of SEVERITY_COLORS) {
    acc = acc.map((a, i) => a + (buckets[i].counts?.[name] || 0));
    cum.push(acc);
  }
  const order = SEVERITY_COLORS.map((s, i) => i).reverse();
  const ax = axisStyle();
  const tip = h('div', { class: 'volume-tip muted' });
  const width = () => Math.max(200, el.clientWidth || 600);
  const u = new uPlot({
    width: width(),
    height,
    legend: { show: false },
    series: [{}, ...order.map((i) => ({
      label: SEVERITY_COLORS[i][0],
      stroke: SEVERITY_COLORS[i][1],
      fill: SEVERITY_COLORS[i][1],
      paths: uPlot.paths.bars({ size: [0.9, 40], align: 0 }),
      points: { show: false },
    }))],
    axes: [{ ...ax }, { ...ax, size: 50 }],
    scales: { x: { time: true }, y: { range: (u, mn, mx) => [0, Math.max(1, mx)] } },
    cursor: { drag: { x: true, y: false, setScale: false } },
    hooks: {
      setSelect: [(u) => {
        if (u.select.width < 3) return;
        const from = Math.floor(u.posToVal(u.select.left, 'x'));
        const until = Math.ceil(u.posToVal(u.select.left + u.select.width, 'x'));
        u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
        onSelect(from, until);
      }],
      setCursor: [(u) => {
        const i = u.cursor.idx;
        if (i == null || !buckets[i]) { tip.textContent = ''; return; }
        const c = buckets[i].counts || {};
        tip.textContent = `${fmtTime(buckets[i].ts)}  ${SEVERITY_COLORS.filter(([n]) => c[n]).map(([n]) => `${n} ${c[n]}`).join('  ') || 'no logs'}`;
      }],
    },
  }, [xs, ...order.map((i) => cum[i])], el);
  el.append(tip);
  const ro = new ResizeObserver(() => u.setSize({ width: width(), height }));
  ro.observe(el);
  return { destroy() { ro.disconnect(); u.destroy(); } };
}
