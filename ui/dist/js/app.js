// The page's entry point: registers the views with the router, sets the theme, starts routing.

import { route, start } from './router.js';
import { explore } from './explore.js';
import { logs } from './logs.js';
import { dashboardList, dashboardView } from './dashboards.js';

const THEME_KEY = 'lookout.theme';

function applyTheme(t) {
  document.documentElement.dataset.theme = t;
}

const saved = localStorage.getItem(THEME_KEY);
applyTheme(saved || (matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark'));
document.getElementById('theme').addEventListener('click', () => {
  const t = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  localStorage.setItem(THEME_KEY, t);
  applyTheme(t);
  // Canvas colours are read when a graph is drawn: redraw the view in the new theme.
  window.dispatchEvent(new PopStateEvent('popstate'));
});

route(/^\/(explore)?\/?$/, explore);
route(/^\/logs\/?$/, logs);
route(/^\/dashboards\/?$/, dashboardList);
route(/^\/d\/([^/]+)\/?$/, dashboardView);
start();
