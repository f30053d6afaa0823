// Client-side routing: the view is a function of the URL (path + query), so every state a
// user can reach is a link. go() pushes a new URL and re-renders; replace() only rewrites it.

const routes = [];
let cleanup = null;

/** Registers a view for a path regex; handler(el, params, match) may return a cleanup function. */
export function route(re, handler) {
  routes.push([re, handler]);
}

/** A URL from a path and params (arrays repeat keys; empty values are dropped). */
export function href(path, params = {}) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const x of Array.isArray(v) ? v : [v]) {
      if (x !== undefined && x !== null && x !== '') p.append(k, String(x));
    }
  }
  const s = p.toString();
  return s ? `${path}?${s}` : path;
}

/** Navigates to path + params (a new history entry) and renders the view. */
export function go(path, params = {}, { replace = false } = {}) {
  const url = href(path, params);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

/** Rewrites the current URL's params without rendering again (for state a view already shows). */
export function replaceParams(params) {
  history.replaceState(null, '', href(location.pathname, params));
}

/** Renders the view of the current URL into #view. */
export function render() {
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } }
  cleanup = null;
  const el = document.getElementById('view');
  while (el.firstChild) el.removeChild(el.firstChild);
  const params = new URLSearchParams(location.search);
  for (const a of document.querySelectorAll('[data-nav]')) {
    a.classList.toggle('active', location.pathname.startsWith(`/${a.dataset.nav}`) || (a.dataset.nav === 'dashboards' && location.pathname.startsWith('/d/')));
  }
  for (const [re, handler] of routes) {
    const m = re.exec(location.pathname);
    if (m) {
      const c = handler(el, params, m);
      cleanup = typeof c === 'function' ? c : null;
      return;
    }
  }
  el.textContent = `No page at ${location.pathname}`;
}

/** Starts routing: link clicks inside the app and back/forward go through render(). */
export function start() {
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[href^="/"]');
    if (!a || a.target || a.hasAttribute('download') || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    if (a.getAttribute('href').startsWith('/ui/')) return;
    e.preventDefault();
    history.pushState(null, '', a.getAttribute('href'));
    render();
  });
  window.addEventListener('popstate', render);
  render();
}
