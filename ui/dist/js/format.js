// Number formatting for axes and legends, by the unit a graph is set to.

/** [value, label] unit choices. */
export const UNITS = [['', 'no unit'], ['si', 'SI (k, M, G)'], ['bytes', 'bytes'], ['percent', '%'], ['ms', 'ms'], ['s', 'seconds']];

function scaled(v, base, suffixes) {
  let i = 0;
  let x = Math.abs(v);
  while (x >= base && i < suffixes.length - 1) { x /= base; i++; }
  return `${v < 0 ? '-' : ''}${trim(x)}${suffixes[i]}`;
}

function trim(x) {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1).replace(/\.0$/, '');
  if (a >= 0.01) return x.toFixed(2).replace(/\.?0+$/, '');
  return x.toPrecision(2);
}

/** A value as text in the given unit; nulls show as an em dash. */
export function fmtValue(v, unit = '') {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  unit = unit || '';
  switch (unit) {
    case 'si': return scaled(v, 1000, ['', 'k', 'M', 'G', 'T', 'P']);
    case 'bytes': return scaled(v, 1024, [' B', ' KiB', ' MiB', ' GiB', ' TiB']);
    case 'percent': return `${trim(v)}%`;
    case 'ms': return Math.abs(v) >= 1000 ? `${trim(v / 1000)} s` : `${trim(v)} ms`;
    case 's': return Math.abs(v) >= 3600 ? `${trim(v / 3600)} h` : Math.abs(v) >= 60 ? `${trim(v / 60)} min` : `${trim(v)} s`;
    case '': return Math.abs(v) >= 1e6 ? scaled(v, 1000, ['', 'k', 'M', 'G', 'T']) : trim(v);
    default: return `${Math.abs(v) >= 1e6 ? scaled(v, 1000, ['', 'k', 'M', 'G', 'T']) : trim(v)}${unit.startsWith('/') ? '' : ' '}${unit}`;
  }
}

/** min, max, avg and last of the non-null values. */
export function stats(values) {
  let min = Infinity; let max = -Infinity; let sum = 0; let n = 0; let last = null;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v; n++; last = v;
  }
  return n ? { min, max, avg: sum / n, last } : { min: null, max: null, avg: null, last: null };
}
