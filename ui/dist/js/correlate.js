// The links between metrics and logs: which log component a metric belongs to (the server's
// component_for, or the longest existing component prefixing the metric's path when the server
// has no such endpoint), and the URLs of "logs for this window" and "graphs around this line".

import { getJSON, ApiError } from './api.js';
import { href } from './router.js';

/** The dotted metric path inside a target or series name: `sumSeries(a.b.*)` → `a.b.*`. */
export function metricPath(name) {
  const s = String(name);
  const tag = /;component=([^;,)]+)/.exec(s);
  const paths = s.match(/[A-Za-z0-9_\-:*?{}[\]]+(\.[A-Za-z0-9_\-:*?{}[\]]+)+/g) || [s];
  const p = paths.sort((a, b) => b.length - a.length)[0];
  return { path: p.split(';')[0], tagComponent: tag ? tag[1] : null };
}

async function fallbackComponent(name) {
  const { path, tagComponent } = metricPath(name);
  if (tagComponent) return { component: tagComponent, candidates: [tagComponent] };
  let nodes = path.split('.');
  if (nodes[0] === 'logs') nodes = nodes.slice(1, -1);
  const candidates = [];
  for (let n = nodes.length; n >= 1; n--) {
    const prefix = nodes.slice(0, n).join('.');
    if (/[*?{[]/.test(prefix)) continue;
    const found = await getJSON('/api/v1/logs/components', { query: prefix }).catch(() => []);
    if (Array.isArray(found) && found.some((c) => c.id === prefix)) candidates.push(prefix);
  }
  return { component: candidates[0] || null, candidates };
}

/** {component, candidates} for a series name; component is null when no log component matches. */
export async function componentFor(name) {
  try {
    const metric = /[(,]/.test(name) ? metricPath(name).path : name;
    const r = await getJSON('/api/v1/logs/component_for', { metric });
    if (r && 'component' in r) return r;
  } catch (e) {
    if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 405)) throw e;
  }
  return fallbackComponent(name);
}

/** The first component among several series names. */
export async function componentOfAny(names) {
  for (const n of names) {
    const r = await componentFor(n);
    if (r.component) return r;
  }
  return { component: null, candidates: [] };
}

/** The Logs view URL for a component over exactly [from, until] (unix seconds). */
export function logsHref(component, from, until, extra = {}) {
  return href('/logs', { component, from: String(from), until: String(until), order: 'asc', ...extra });
}

/** The Explore view URL with the graphs of a component ±15 min around ts (unix seconds). */
export function graphsAroundHref(component, ts) {
  const t = Math.floor(ts);
  return href('/explore', {
    target: [`${component}.*`, `sumSeries(logs.${component}.*)`],
    from: String(t - 900),
    until: String(t + 900),
    errors: '1',
    mark: String(t),
  });
}

/** The target whose series count the error-level logs of a component. */
export function errorTarget(component) {
  return `sumSeries(logs.${component}.{emerg,alert,crit,err})`;
}
