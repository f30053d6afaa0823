// Loads what a graph shows — the targets from /render, the events of the range from
// /events/get_data and, when asked, the error-log counts of the series' component — and draws
// it with chart.js. Shared by Explore and dashboard graph panels; "logs for this" is handled here
// so every graph offers it.

import { getJSON } from './api.js';
import { h, notice } from './dom.js';
import { drawGraph } from './chart.js';
import { componentOfAny, errorTarget, logsHref } from './correlate.js';
import { go } from './router.js';

/** Events of a range ([] when the server has no events API or none match). */
export async function loadEvents(from, until, tags) {
  try {
    const ev = await getJSON('/events/get_data', { from, until, tags });
    return Array.isArray(ev) ? ev : [];
  } catch {
    return [];
  }
}

/** Opens the logs of the component of `names` for exactly [from, until]. */
export async function openLogsFor(names, from, until) {
  const r = await componentOfAny(names);
  if (!r.component) {
    notice(`No log component matches ${names.join(', ')}`);
    return;
  }
  const url = logsHref(r.component, from, until, { metric: names[0] });
  history.pushState(null, '', url);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/**
 * Draws targets over [from, until] into el; returns {destroy}. opts: unit, errors (overlay
 * error counts), height, legend, marks (extra markers like events), onZoom(from, until).
 */
export function graphInto(el, targets, from, until, opts = {}) {
  let chart = null;
  let dead = false;
  const status = h('div', { class: 'muted loading', text: 'Loading…' });
  el.append(status);
  (async () => {
    const width = Math.max(200, el.clientWidth || 800);
    try {
      const [series, events] = await Promise.all([
        targets.length ? getJSON('/render', { target: targets, from, until, format: 'json', maxDataPoints: Math.round(width) }) : [],
        loadEvents(from, until),
      ]);
      let errors = null;
      if (opts.errors && series.length) {
        const c = await componentOfAny(series.map((s) => s.target)).catch(() => ({ component: null }));
        if (c.component) {
          const e = await getJSON('/render', { target: errorTarget(c.component), from, until, format: 'json', maxDataPoints: Math.round(width / 4) }).catch(() => []);
          if (e.length) errors = { ...e[0], target: `errors in ${c.component}` };
        }
      }
      if (dead) return;
      status.remove();
      chart = drawGraph(el, {
        series,
        events: [...events, ...(opts.marks || [])],
        errors,
        unit: opts.unit,
        height: opts.height,
        legend: opts.legend,
        onSelect: (f, u, action) => {
          if (action === 'zoom') (opts.onZoom || (() => go('/explore', { target: targets, from: f, until: u })))(f, u);
          else openLogsFor(series.map((s) => s.target), f, u).catch((e) => notice(e.message));
        },
      });
      el.dataset.drawn = String(series.length);
      if (!performance.getEntriesByName('lookout:first-graph').length) performance.mark('lookout:first-graph');
    } catch (e) {
      if (dead) return;
      status.className = 'error';
      status.textContent = e.message;
    }
  })();
  return { destroy() { dead = true; if (chart) chart.destroy(); } };
}
