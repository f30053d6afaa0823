// Time ranges as Graphite writes them (`-1h`, `now`, unix seconds, YYYYMMDD, RFC 3339) and the
// range picker: presets plus absolute from/until. The range is kept in the URL in Graphite's
// own words so a link stays relative ("last hour") or absolute as the user chose.

import { h, select } from './dom.js';

/** [label, from] presets; until is always `now`. */
export const PRESETS = [
  ['5 min', '-5min'], ['15 min', '-15min'], ['1 h', '-1h'], ['6 h', '-6h'],
  ['24 h', '-24h'], ['7 d', '-7d'], ['30 d', '-30d'],
];

/** Refresh choices: [value, label]; '' is off. */
export const REFRESH = [['', 'no refresh'], ['5s', '5 s'], ['10s', '10 s'], ['30s', '30 s'], ['1m', '1 min'], ['5m', '5 min']];

const UNIT = { s: 1, sec: 1, second: 1, min: 60, minute: 60, h: 3600, hour: 3600, d: 86400, day: 86400, w: 604800, week: 604800, mon: 2592000, month: 2592000, y: 31536000, year: 31536000 };

/** Seconds in a duration like `30s`, `5m`, `1min`, `2h`; NaN when unreadable. */
export function durationSecs(text) {
  const m = /^(\d+)\s*([a-z]*)$/.exec(String(text).trim());
  if (!m) return NaN;
  const unit = m[2] === 'm' ? 60 : m[2] === '' ? 1 : UNIT[m[2].replace(/s$/, '')] ?? UNIT[m[2]];
  return unit ? Number(m[1]) * unit : NaN;
}

/** Unix seconds for a Graphite time spec at `now` (seconds); NaN when unreadable. */
export function toUnix(spec, now = Date.now() / 1000) {
  const s = String(spec ?? '').trim();
  if (s === '' || s === 'now') return Math.floor(now);
  const rel = /^([+-])(\d+)\s*([a-z]+)$/.exec(s);
  if (rel) {
    const u = UNIT[rel[3]] ?? UNIT[rel[3].replace(/s$/, '')];
    if (!u) return NaN;
    return Math.floor(now) + (rel[1] === '-' ? -1 : 1) * Number(rel[2]) * u;
  }
  if (/^\d{9,}$/.test(s)) return Number(s);
  const ymd = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (ymd) return Date.UTC(+ymd[1], +ymd[2] - 1, +ymd[3]) / 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? NaN : Math.floor(t / 1000);
}

/** A short label for a range: the preset's name, or the absolute times. */
export function rangeLabel(from, until) {
  const p = PRESETS.find(([, f]) => f === from);
  if (p && (until === 'now' || !until)) return `last ${p[0]}`;
  return `${fmtTime(toUnix(from))} → ${until && until !== 'now' ? fmtTime(toUnix(until)) : 'now'}`;
}

/** Local date and time to the second. */
export function fmtTime(secs) {
  if (!Number.isFinite(secs)) return '?';
  const d = new Date(secs * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function toLocalInput(secs) {
  return fmtTime(secs).replace(' ', 'T');
}

/**
 * The range picker: preset buttons, two datetime inputs for an absolute range, and a refresh
 * choice when `refresh` is given. Calls onChange({from, until, refresh}).
 */
export function rangePicker({ from, until, refresh }, onChange) {
  const fromIn = h('input', { type: 'datetime-local', step: 1, value: toLocalInput(toUnix(from)), 'aria-label': 'from' });
  const untilIn = h('input', { type: 'datetime-local', step: 1, value: toLocalInput(toUnix(until)), 'aria-label': 'until' });
  const presets = select([['', rangeLabel(from, until)], ...PRESETS.map(([l, f]) => [f, `last ${l}`])], '',
    (v) => v && onChange({ from: v, until: 'now', refresh }), { 'aria-label': 'range', class: 'presets' });
  const apply = h('button', {
    type: 'button', text: 'Apply', onclick: () => {
      const f = Math.floor(Date.parse(fromIn.value) / 1000);
      const u = Math.floor(Date.parse(untilIn.value) / 1000);
      if (Number.isFinite(f) && Number.isFinite(u) && f < u) onChange({ from: String(f), until: String(u), refresh });
    },
  });
  const parts = [presets, h('span', { class: 'absolute' }, fromIn, untilIn, apply)];
  if (refresh !== undefined) {
    parts.push(select(REFRESH, refresh, (v) => onChange({ from, until, refresh: v }), { 'aria-label': 'refresh' }));
  }
  return h('div', { class: 'range' }, parts);
}
