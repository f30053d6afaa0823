// Completion for the target editor: metric names (from /metrics/find) and function names (from
// /functions) for the word under the cursor, in a list under the input (arrows, Enter or Tab).

import { h, clear } from './dom.js';
import { getJSON } from './api.js';

let functions = null;

/** Function names the server implements, loaded once. */
export function functionNames() {
  if (!functions) {
    functions = getJSON('/functions').then((f) => Object.keys(f || {}).sort()).catch(() => []);
  }
  return functions;
}

/** The word under the cursor: [start, end) of the metric path or function name being typed. */
export function wordAt(text, pos) {
  let start = pos;
  while (start > 0 && !/[(),\s"']/.test(text[start - 1])) start--;
  return [start, pos];
}

/** Suggestions for a word: functions by prefix (when it has no dot) and metric nodes. */
export async function suggest(word) {
  const out = [];
  if (!word.includes('.')) {
    const fns = await functionNames();
    for (const f of fns) if (f.toLowerCase().startsWith(word.toLowerCase()) && word) out.push({ text: `${f}(`, label: `${f}()`, kind: 'function' });
  }
  const nodes = await getJSON('/metrics/find', { query: `${word}*` }).catch(() => []);
  for (const n of Array.isArray(nodes) ? nodes : []) {
    const leaf = n.leaf === 1 || n.leaf === true;
    out.push({ text: leaf ? n.id : `${n.id}.`, label: leaf ? n.id : `${n.id}.`, kind: leaf ? 'metric' : 'branch' });
  }
  return out.slice(0, 50);
}

/** Wires completion onto a text input. */
export function attachCompletion(input) {
  const list = h('ul', { class: 'completions', role: 'listbox', hidden: true });
  let items = [];
  let active = -1;
  let seq = 0;
  const close = () => { list.hidden = true; items = []; active = -1; };
  const choose = (it) => {
    const [s, e] = wordAt(input.value, input.selectionStart ?? input.value.length);
    input.value = input.value.slice(0, s) + it.text + input.value.slice(e);
    const pos = s + it.text.length;
    input.setSelectionRange(pos, pos);
    input.focus();
    close();
    if (it.kind !== 'metric') update();
  };
  const paint = () => {
    clear(list);
    items.forEach((it, i) => list.append(h('li', {
      class: `${it.kind}${i === active ? ' active' : ''}`,
      role: 'option',
      text: it.label,
      onmousedown: (e) => { e.preventDefault(); choose(it); },
    })));
    list.hidden = items.length === 0;
  };
  async function update() {
    const my = ++seq;
    const [s, e] = wordAt(input.value, input.selectionStart ?? input.value.length);
    const word = input.value.slice(s, e);
    const got = await suggest(word);
    if (my !== seq || document.activeElement !== input) return;
    items = got; active = -1; paint();
  }
  input.addEventListener('input', update);
  input.addEventListener('focus', update);
  input.addEventListener('blur', () => setTimeout(close, 150));
  input.addEventListener('keydown', (e) => {
    if (list.hidden || !items.length) return;
    if (e.key === 'ArrowDown') { active = (active + 1) % items.length; paint(); e.preventDefault(); }
    else if (e.key === 'ArrowUp') { active = (active - 1 + items.length) % items.length; paint(); e.preventDefault(); }
    else if ((e.key === 'Tab' || e.key === 'Enter') && active >= 0) { choose(items[active]); e.preventDefault(); }
    else if (e.key === 'Escape') close();
  });
  return h('div', { class: 'complete' }, input, list);
}
