// DOM helpers. Every piece of data reaches the page through textContent or an attribute,
// never through innerHTML, so log text and metric names always show as text.

/** Creates an element: attrs holds attributes, `class`, `text` (textContent) and on* handlers. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k === 'class') el.className = v;
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Removes every child of el. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** A labelled form control. */
export function field(label, control) {
  return h('label', { class: 'field' }, h('span', { text: label }), control);
}

/** A select with [value, label] options. */
export function select(options, value, onchange, attrs = {}) {
  const s = h('select', { ...attrs, onchange: () => onchange(s.value) },
    options.map(([v, l]) => h('option', { value: v, text: l })));
  s.value = value;
  return s;
}

/** Shows a short message at the top of the view; errors stay until the next one. */
export function notice(text, kind = 'error') {
  let bar = document.getElementById('notice');
  if (!bar) {
    bar = h('div', { id: 'notice', role: 'status' });
    document.body.append(bar);
  }
  bar.className = kind;
  bar.textContent = text;
  bar.hidden = !text;
  if (kind !== 'error' && text) setTimeout(() => { if (bar.textContent === text) bar.hidden = true; }, 4000);
}

/** Saves text as a file download. */
export function download(name, text, type = 'application/json') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
