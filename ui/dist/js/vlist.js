// A virtual-scrolling list of fixed-height rows: only the rows in view (plus a margin) exist in
// the DOM, reused as the list scrolls, so 100k log lines scroll as smoothly as 100. Knows
// nothing about logs: the caller fills a row element from an item.

import { h } from './dom.js';

const OVERSCAN = 10;

/** A virtual list inside `host`. */
export class VirtualList {
  /**
   * opts: rowHeight (px), fill(rowEl, item, index) paints a row, onNearEnd() asks for more
   * items when the view comes within two screens of the end, onSelect(item, index).
   */
  constructor(host, opts) {
    this.opts = opts;
    this.items = [];
    this.selected = -1;
    this.spacer = h('div', { class: 'vspacer' });
    this.layer = h('div', { class: 'vlayer' });
    this.el = h('div', { class: 'vlist', tabindex: 0, role: 'list' }, this.spacer, this.layer);
    this.pool = [];
    this.frame = 0;
    this.el.addEventListener('scroll', () => this.schedule(), { passive: true });
    this.el.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        const i = Math.max(0, Math.min(this.items.length - 1, this.selected + (e.key === 'ArrowDown' ? 1 : -1)));
        this.select(i, true);
        e.preventDefault();
      }
    });
    this.resize = new ResizeObserver(() => this.schedule());
    this.resize.observe(this.el);
    host.append(this.el);
  }

  /** Replaces every item. */
  set(items) {
    this.items = items;
    this.selected = -1;
    this.el.scrollTop = 0;
    this.schedule();
  }

  /** Adds items at the end. */
  append(items) {
    if (!items.length) return;
    const atEnd = this.el.scrollTop + this.el.clientHeight >= this.el.scrollHeight - this.opts.rowHeight;
    for (const it of items) this.items.push(it);
    this.schedule();
    return atEnd;
  }

  /** Adds items at the start, keeping the rows in view where they are unless at the top. */
  prepend(items) {
    if (!items.length) return;
    this.items = items.concat(this.items);
    if (this.selected >= 0) this.selected += items.length;
    if (this.el.scrollTop > 0) this.el.scrollTop += items.length * this.opts.rowHeight;
    this.schedule();
  }

  /** Drops items beyond `max` from the end (live tail keeps memory bounded). */
  cap(max) {
    if (this.items.length > max) this.items.length = max;
  }

  /** Scrolls to the end. */
  scrollToEnd() {
    this.paint();
    this.el.scrollTop = this.el.scrollHeight;
  }

  /** Selects item i and tells onSelect. */
  select(i, scroll = false) {
    this.selected = i;
    if (scroll) {
      const top = i * this.opts.rowHeight;
      if (top < this.el.scrollTop) this.el.scrollTop = top;
      else if (top + this.opts.rowHeight > this.el.scrollTop + this.el.clientHeight) this.el.scrollTop = top + this.opts.rowHeight - this.el.clientHeight;
    }
    this.paint();
    if (this.opts.onSelect && this.items[i]) this.opts.onSelect(this.items[i], i);
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.paint(); });
  }

  /** Lays out the rows in view now. */
  paint() {
    const rh = this.opts.rowHeight;
    const n = this.items.length;
    this.spacer.style.height = `${n * rh}px`;
    const first = Math.max(0, Math.floor(this.el.scrollTop / rh) - OVERSCAN);
    const count = Math.min(n - first, Math.ceil(this.el.clientHeight / rh) + 2 * OVERSCAN);
    while (this.pool.length < count) {
      const row = h('div', { class: 'vrow', role: 'listitem' });
      row.addEventListener('click', () => this.select(Number(row.dataset.index)));
      this.pool.push(row);
      this.layer.append(row);
    }
    this.pool.forEach((row, k) => {
      if (k >= count) { row.hidden = true; return; }
      const i = first + k;
      row.hidden = false;
      row.style.transform = `translateY(${i * rh}px)`;
      row.classList.toggle('selected', i === this.selected);
      if (row.dataset.index !== String(i) || row.item !== this.items[i]) {
        row.dataset.index = String(i);
        row.item = this.items[i];
        this.opts.fill(row, this.items[i], i);
      }
    });
    if (this.opts.onNearEnd && this.el.scrollTop + 3 * this.el.clientHeight >= n * rh) this.opts.onNearEnd();
  }

  /** Stops observing; the element is removed with the view. */
  destroy() {
    this.resize.disconnect();
    if (this.frame) cancelAnimationFrame(this.frame);
  }
}
