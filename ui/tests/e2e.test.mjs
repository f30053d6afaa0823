// End-to-end tests of the web UI: a real lookout (LOOKOUT_BIN) and Debian's chromium driven by
// playwright-core. Each test sends its own data over the HTTP API, then checks what a person
// would see. Screenshots go to LOOKOUT_UI_SCREENSHOTS (run.sh: target/ui-screenshots).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startLookout } from './lookout.mjs';

const SHOTS = process.env.LOOKOUT_UI_SCREENSHOTS || '';
const WAIT = { timeout: 30000 };
const NOW = Math.floor(Date.now() / 1000);
// Every metric below is on a 10 s grid ending at T1, an hour long.
const T1 = NOW - (NOW % 60);
const T0 = T1 - 3600;

let lk;
let browser;

before(async () => {
  lk = await startLookout();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  if (browser) await browser.close();
  if (lk) await lk.stop();
});

/** A fresh page that fails the test on any script error or dialog. */
async function page(opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'dark', ...opts });
  const p = await ctx.newPage();
  p.errors = [];
  p.dialogs = [];
  p.on('pageerror', (e) => p.errors.push(e.message));
  p.on('dialog', (d) => { p.dialogs.push(d.message()); d.dismiss(); });
  return p;
}

/** Local time as the page writes it (the browser runs in this process's time zone). */
function fmt(secs) {
  const d = new Date(secs * 1000);
  const z = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${z(d.getMonth() + 1)}-${z(d.getDate())} ${z(d.getHours())}:${z(d.getMinutes())}:${z(d.getSeconds())}`;
}

async function shot(p, name) {
  if (SHOTS) await p.screenshot({ path: join(SHOTS, `${name}.png`) });
}

function series(name, f) {
  const lines = [];
  for (let t = T0; t <= T1; t += 10) lines.push(`${name} ${f(t)} ${t}`);
  return lines.join('\n');
}

/** Pixels of the graph canvas drawn in the first series' colour (#3d8bfd, within a tolerance). */
async function seriesPixels(p) {
  return p.evaluate(() => {
    const c = document.querySelector('.graph canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 200 && Math.abs(d[i] - 61) < 30 && Math.abs(d[i + 1] - 139) < 30 && Math.abs(d[i + 2] - 253) < 30) n++;
    }
    return n;
  });
}

async function logMessages(p) {
  await p.waitForFunction(() => /\d+ lines(?! \(scroll)/.test(document.querySelector('.status')?.textContent || ''), null, WAIT);
  // The status is set when a page arrives, but the list paints its rows in the animation frame
  // it asked for then; a frame asked for now runs after that one.
  await p.evaluate(() => new Promise((done) => requestAnimationFrame(() => done())));
  return p.$$eval('.vrow:not([hidden]) .msg', (els) => els.map((e) => e.textContent));
}

test('Explore draws a graph of the data sent', async () => {
  await lk.metrics(series('e2e.web01.cpu.user', (t) => 50 + 40 * Math.sin((t - T0) / 600)));
  const p = await page();
  await p.goto(`${lk.base}/explore?target=e2e.web01.cpu.user&from=${T0}&until=${T1}`);
  await p.waitForSelector('.graph-host[data-drawn="1"]', WAIT);
  assert.equal(await p.textContent('.legend td.name'), 'e2e.web01.cpu.user');
  const px = await seriesPixels(p);
  assert.ok(px > 200, `only ${px} pixels of the series colour on the canvas`);
  const [min, max] = await p.$$eval('.legend tbody td.num', (tds) => tds.slice(0, 2).map((t) => Number(t.textContent)));
  assert.ok(min >= 10 && min < 11 && max > 89 && max <= 90, `legend min ${min} max ${max}`);
  await shot(p, 'explore');
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test('dragging a range on a graph opens exactly that component\'s logs of that window', async () => {
  await lk.metrics(series('e2eshop.checkout.latency', (t) => 100 + ((t - T0) % 600) / 10));
  const at = (min) => T0 + min * 60;
  const sent = [
    { component: 'e2eshop.checkout', message: 'before the window', ts: at(10) },
    { component: 'e2eshop.checkout', message: 'checkout timeout 1', ts: at(25), level: 'err', host: 'web01', order: '17' },
    { component: 'e2eshop.checkout', message: 'checkout slow 2', ts: at(30), level: 'warning' },
    { component: 'e2eshop.checkout', message: 'checkout timeout 3', ts: at(35), level: 'err' },
    { component: 'e2eshop.checkout', message: 'after the window', ts: at(50) },
    { component: 'e2eshop.cart', message: 'another component in the window', ts: at(30), level: 'err' },
  ];
  await lk.logs(sent);
  const p = await page();
  await p.goto(`${lk.base}/explore?target=e2eshop.checkout.latency&from=${T0}&until=${T1}`);
  await p.waitForSelector('.graph-host[data-drawn="1"]', WAIT);
  // The x scale spans the data, T0..T1, across the plot area: drag from minute 20 to minute 40.
  const box = await p.locator('.graph .u-over').boundingBox();
  const x = (min) => box.x + (box.width * min) / 60;
  const y = box.y + box.height / 2;
  await p.mouse.move(x(20), y);
  await p.mouse.down();
  await p.mouse.move(x(30), y, { steps: 5 });
  await p.mouse.move(x(40), y, { steps: 5 });
  await p.mouse.up();
  await p.getByRole('button', { name: 'Logs for this' }).click();
  await p.waitForURL(/\/logs\?/, WAIT);
  const url = new URL(p.url());
  assert.equal(url.searchParams.get('component'), 'e2eshop.checkout');
  const from = Number(url.searchParams.get('from'));
  const until = Number(url.searchParams.get('until'));
  assert.ok(Math.abs(from - at(20)) <= 60 && Math.abs(until - at(40)) <= 60, `window ${from}..${until}, wanted about ${at(20)}..${at(40)}`);
  const expected = sent.filter((r) => r.component === 'e2eshop.checkout' && r.ts >= from && r.ts <= until).map((r) => r.message);
  assert.deepEqual(expected, ['checkout timeout 1', 'checkout slow 2', 'checkout timeout 3']);
  assert.deepEqual(await logMessages(p), expected);
  // Expandable fields, and the way back to the graphs around a line.
  await p.locator('.vrow', { hasText: 'checkout timeout 1' }).click();
  assert.equal(await p.textContent('.detail .fields td'), '17');
  await shot(p, 'logs');
  await p.getByRole('link', { name: /Graphs around this/ }).click();
  await p.waitForURL(/\/explore\?/, WAIT);
  const back = new URL(p.url());
  assert.equal(Number(back.searchParams.get('from')), at(25) - 900);
  assert.equal(Number(back.searchParams.get('until')), at(25) + 900);
  assert.ok(back.searchParams.getAll('target').includes('e2eshop.checkout.*'));
  await p.waitForSelector('.graph-host[data-drawn]', WAIT);
  await shot(p, 'graphs-around-a-log-line');
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test('a log message with HTML shows as text and runs nothing', async () => {
  const evil = '<img src=x onerror=alert(1)>';
  await lk.logs([{ component: 'e2exss', message: evil, ts: T1 - 60, level: 'err', host: '<b>h</b>', note: '<script>alert(2)</script>' }]);
  const p = await page();
  await p.goto(`${lk.base}/logs?component=e2exss&from=${T0}&until=${T1}`);
  assert.deepEqual(await logMessages(p), [evil]);
  await p.locator('.vrow').first().click();
  assert.equal(await p.textContent('.detail pre.message'), evil);
  assert.equal(await p.textContent('.detail .fields td'), '<script>alert(2)</script>');
  assert.equal(await p.locator('main img, main script, main b').count(), 0);
  assert.deepEqual(p.dialogs, []);
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test('a dashboard saved, reloaded, is the same', async () => {
  const doc = {
    title: 'E2E board',
    time: { from: String(T0), until: String(T1) },
    refresh: '',
    variables: [{ name: 'host', query: 'e2e.*' }],
    panels: [
      { type: 'graph', title: 'CPU of $host', targets: ['e2e.$host.cpu.user'], grid: { x: 0, y: 0, w: 8, h: 4 } },
      { type: 'stat', title: 'last CPU', target: 'e2e.web01.cpu.user', thresholds: [{ value: 80, color: 'red' }], grid: { x: 8, y: 0, w: 4, h: 2 } },
      { type: 'logvolume', title: 'shop logs', component: 'e2eshop', grid: { x: 0, y: 4, w: 6, h: 3 } },
      { type: 'logs', title: 'shop lines', component: 'e2eshop', grid: { x: 6, y: 4, w: 6, h: 3 } },
    ],
  };
  const p = await page();
  await p.goto(`${lk.base}/dashboards`);
  await p.getByRole('button', { name: 'New dashboard' }).click();
  await p.waitForSelector('.panel-editor', WAIT);
  await p.getByRole('button', { name: 'Edit JSON' }).click();
  await p.waitForSelector('textarea.json', WAIT);
  const id = decodeURIComponent(new URL(p.url()).pathname.split('/')[2]);
  await p.fill('textarea.json', JSON.stringify(doc, null, 2));
  await p.getByRole('button', { name: 'Save', exact: true }).click();
  await p.waitForFunction(() => !document.querySelector('textarea.json'), null, WAIT);
  await p.reload();
  await p.waitForSelector('.panel-graph .graph-host[data-drawn="1"], .panel-graph [data-drawn="1"]', WAIT);
  assert.equal(await p.textContent('main h1'), 'E2E board');
  // The saved range applies, not the one the new dashboard was opened with.
  assert.equal(await p.textContent('select.presets option'), `${fmt(T0)} → ${fmt(T1)}`);
  assert.deepEqual(await p.$$eval('.panel h3', (hs) => hs.map((x) => x.textContent)), ['CPU of *', 'last CPU', 'shop logs', 'shop lines']);
  const stored = await (await fetch(`${lk.base}/api/v1/dashboards/${encodeURIComponent(id)}`)).json();
  for (const k of Object.keys(doc)) assert.deepEqual(stored[k], doc[k], `field ${k} after the save`);
  await p.waitForSelector('.panel-logs .vrow', WAIT);
  await shot(p, 'dashboard');
  await p.goto(`${lk.base}/d/lookout`);
  await p.waitForSelector('.panel h3', WAIT);
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test('panels added through the editor are saved and drawn after a reload', async () => {
  const p = await page();
  await p.goto(`${lk.base}/dashboards`);
  await p.getByRole('button', { name: 'New dashboard' }).click();
  await p.waitForSelector('.panel-editor', WAIT);
  const id = decodeURIComponent(new URL(p.url()).pathname.split('/')[2]);
  await p.fill('input[aria-label="dashboard title"]', 'Editor board');
  // A graph panel, its target picked from the completion list as in Explore.
  await p.selectOption('select[aria-label="new panel type"]', 'graph');
  await p.getByRole('button', { name: 'Add panel' }).click();
  await p.fill('input[aria-label="panel 1 title"]', 'CPU graph');
  await p.fill('input[aria-label="panel 1 target 1"]', 'e2e.web01.cpu.us');
  await p.locator('.completions li.metric', { hasText: 'e2e.web01.cpu.user' }).waitFor(WAIT);
  await p.keyboard.press('ArrowDown');
  await p.keyboard.press('Enter');
  assert.equal(await p.inputValue('input[aria-label="panel 1 target 1"]'), 'e2e.web01.cpu.user');
  await p.selectOption('select[aria-label="panel 1 unit"]', 'percent');
  // A stat panel with a threshold, moved beside the graph and made taller.
  await p.selectOption('select[aria-label="new panel type"]', 'stat');
  await p.getByRole('button', { name: 'Add panel' }).click();
  await p.fill('input[aria-label="panel 2 title"]', 'last CPU');
  await p.fill('input[aria-label="panel 2 target"]', 'e2e.web01.cpu.user');
  await p.getByRole('button', { name: '+ threshold' }).click();
  await p.fill('input[aria-label="panel 2 threshold 1 value"]', '40');
  await p.fill('input[aria-label="panel 2 column"]', '6');
  await p.fill('input[aria-label="panel 2 row"]', '0');
  await p.locator('fieldset.panel-form[data-index="1"] button[title="taller"]').click();
  // A logs panel added and removed again.
  await p.selectOption('select[aria-label="new panel type"]', 'logs');
  await p.getByRole('button', { name: 'Add panel' }).click();
  await p.fill('input[aria-label="panel 3 component"]', 'e2eshop');
  await p.getByRole('button', { name: 'remove panel 3' }).click();
  assert.equal(await p.locator('fieldset.panel-form').count(), 2);
  await p.getByRole('button', { name: 'Save panels' }).click();
  await p.waitForFunction(() => !document.querySelector('.panel-editor'), null, WAIT);
  await p.reload();
  await p.waitForSelector('.panel-graph [data-drawn="1"]', WAIT);
  await p.waitForFunction(() => /\d/.test(document.querySelector('.panel-stat .stat')?.textContent || ''), null, WAIT);
  assert.equal(await p.textContent('main h1'), 'Editor board');
  assert.deepEqual(await p.$$eval('.panel h3', (hs) => hs.map((x) => x.textContent)), ['CPU graph', 'last CPU']);
  const stored = await (await fetch(`${lk.base}/api/v1/dashboards/${encodeURIComponent(id)}`)).json();
  assert.equal(stored.title, 'Editor board');
  assert.deepEqual(stored.panels, [
    { type: 'graph', title: 'CPU graph', targets: ['e2e.web01.cpu.user'], unit: 'percent', grid: { x: 0, y: 0, w: 6, h: 4 } },
    { type: 'stat', title: 'last CPU', target: 'e2e.web01.cpu.user', thresholds: [{ value: 40, color: '#e5534b' }], grid: { x: 6, y: 0, w: 3, h: 3 } },
  ]);
  // Editing again starts from what was saved.
  await p.getByRole('button', { name: 'Edit panels' }).click();
  await p.waitForSelector('.panel-editor', WAIT);
  assert.equal(await p.inputValue('input[aria-label="panel 2 title"]'), 'last CPU');
  assert.equal(await p.inputValue('input[aria-label="panel 2 column"]'), '6');
  await shot(p, 'panel-editor');
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test('a URL reopened shows the same view', async () => {
  const p = await page();
  await p.goto(`${lk.base}/explore?target=e2e.web01.cpu.user&from=-1h`);
  await p.waitForSelector('.graph-host[data-drawn="1"]', WAIT);
  await p.selectOption('select.presets', '-6h');
  await p.selectOption('select[aria-label="unit"]', 'percent');
  await p.waitForSelector('.graph-host[data-drawn="1"]', WAIT);
  const url = p.url();
  const q = await browser.newPage();
  await q.goto(url);
  await q.waitForSelector('.graph-host[data-drawn="1"]', WAIT);
  const view = (x) => x.evaluate(() => ({
    targets: [...document.querySelectorAll('input.target')].map((i) => i.value),
    range: document.querySelector('select.presets option').textContent,
    unit: document.querySelector('select[aria-label="unit"]').value,
    legend: [...document.querySelectorAll('.legend td.name')].map((t) => t.textContent),
  }));
  const want = { targets: ['e2e.web01.cpu.user'], range: 'last 6 h', unit: 'percent', legend: ['e2e.web01.cpu.user'] };
  assert.deepEqual(await view(p), want);
  assert.deepEqual(await view(q), want);
  // The logs view too: its filters come back from the URL.
  await q.goto(`${lk.base}/logs?component=e2eshop.checkout&level=err&contains=timeout&from=${T0}&until=${T1}`);
  assert.deepEqual(await logMessages(q), ['checkout timeout 3', 'checkout timeout 1']);
  assert.equal(await q.inputValue('input[name="contains"]'), 'timeout');
  assert.equal(await q.inputValue('select[aria-label="level"]'), 'err');
  await q.close();
  await p.context().close();
});

test('the logs list scrolls through 100,000 lines, paged by cursor, with a bounded DOM', async () => {
  const TOTAL = 100000;
  const BATCH = 10000;
  const msg = (n) => `big line ${String(n).padStart(6, '0')}`;
  // Numbered lines 30 ms apart from T0, all in one component, sent in batches as NDJSON.
  for (let b = 0; b < TOTAL; b += BATCH) {
    const recs = [];
    for (let n = b + 1; n <= b + BATCH; n++) recs.push({ component: 'e2ebig', message: msg(n), ts: T0 + 0.5 + (n - 1) * 0.03, level: 'info', host: 'web01' });
    await lk.logs(recs);
  }
  const p = await page();
  await p.goto(`${lk.base}/logs?component=e2ebig&order=asc&from=${T0}&until=${T1}`);
  await p.waitForSelector('.vrow:not([hidden])', WAIT);
  const firstPageMs = await p.evaluate(() => performance.getEntriesByName('lookout:first-logs')[0].startTime);
  // Scroll to the end in jumps of a quarter of a page of 1,000, stopping just before every
  // 250th row (so every page boundary is on screen), reading what every row shows at each
  // stop; at the end of what is loaded, wait for the next page the scroll asked for.
  const walk = await p.evaluate(async ({ total, deadlineMs }) => {
    const el = document.querySelector('.vlist');
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    const shown = new Array(total).fill(null);
    const clashes = [];
    let maxRows = 0;
    let stops = 0;
    const read = () => {
      const rows = el.querySelectorAll('.vrow');
      maxRows = Math.max(maxRows, rows.length);
      for (const row of rows) {
        if (row.hidden) continue;
        const i = Number(row.dataset.index);
        const m = row.querySelector('.msg').textContent;
        if (!(i >= 0 && i < total)) { clashes.push(`row index ${row.dataset.index} shows ${m}`); continue; }
        if (shown[i] !== null && shown[i] !== m) clashes.push(`row ${i} showed ${shown[i]}, then ${m}`);
        shown[i] = m;
      }
    };
    const end = performance.now() + deadlineMs;
    const finished = () => /^[\d,.\s]+ lines(?! \(scroll)/.test(document.querySelector('.status').textContent);
    const rh = 24;
    for (let k = 0, target = 0; performance.now() < end;) {
      el.scrollTop = target * rh;
      await frame();
      await frame();
      read();
      stops++;
      // The status counts a page as soon as it arrives; the list grows on the next frame.
      const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - 1;
      const loaded = Number((document.querySelector('.status').textContent.match(/^[\d,]+/) || ['0'])[0].replace(/,/g, ''));
      if (atEnd && finished() && document.querySelector('.vspacer').offsetHeight === loaded * rh) break;
      if (Math.abs(el.scrollTop - target * rh) < 1) { k++; target = k * 250 - 5; }
      else await new Promise((r) => setTimeout(r, 10));
    }
    return { shown, clashes: clashes.slice(0, 10), maxRows, stops, status: document.querySelector('.status').textContent };
  }, { total: TOTAL, deadlineMs: 240000 });
  assert.deepEqual(walk.clashes, []);
  assert.ok(walk.maxRows <= 80, `${walk.maxRows} row elements in the DOM at once`);
  assert.match(walk.status, /^100,000 lines(?! \(scroll)/);
  for (const i of [0, 1, 998, 999, 1000, 1001, 49999, 50000, 77750, 98999, 99000, TOTAL - 2, TOTAL - 1]) {
    assert.equal(walk.shown[i], msg(i + 1), `row ${i}`);
  }
  // Every row that was on screen at some stop shows its own line: around every page boundary,
  // the last and first rows of two pages are consecutive (no gap, no duplicate).
  let checked = 0;
  for (let i = 0; i < TOTAL; i++) {
    if (walk.shown[i] === null) continue;
    checked++;
    if (walk.shown[i] !== msg(i + 1)) assert.fail(`row ${i} shows ${walk.shown[i]}, wanted ${msg(i + 1)}`);
  }
  for (let b = 1000; b < TOTAL; b += 1000) {
    assert.ok(walk.shown[b - 1] !== null && walk.shown[b] !== null, `rows ${b - 1} and ${b} (a page boundary) were never on screen`);
  }
  // Frame times of a fast programmatic scroll over the loaded list (printed, not asserted).
  const frames = await p.evaluate(async () => {
    const el = document.querySelector('.vlist');
    el.scrollTop = 0;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const deltas = [];
    let maxRows = 0;
    await new Promise((done) => {
      let last = performance.now();
      const step = (t) => {
        deltas.push(t - last);
        last = t;
        maxRows = Math.max(maxRows, el.querySelectorAll('.vrow').length);
        el.scrollTop += 600;
        if (deltas.length < 600) requestAnimationFrame(step); else done();
      };
      requestAnimationFrame(step);
    });
    deltas.shift();
    return { deltas, maxRows };
  });
  assert.ok(frames.maxRows <= 80, `${frames.maxRows} row elements in the DOM while scrolling`);
  const d = [...frames.deltas].sort((a, b) => a - b);
  const q = (x) => d[Math.min(d.length - 1, Math.floor(x * d.length))];
  console.log(`ui-measure: logs list of ${TOTAL} lines: first page shown ${firstPageMs.toFixed(0)} ms after navigation start; `
    + `walked to the end in ${walk.stops} stops, ${checked} rows read; smooth scroll of ${d.length} frames at 600 px/frame: `
    + `median ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, max ${d[d.length - 1].toFixed(1)} ms, ${d.filter((x) => x > 50).length} frames over 50 ms; `
    + `at most ${Math.max(walk.maxRows, frames.maxRows)} row elements`);
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test('measure: first graph of 20 series × 24 h, and bytes transferred', async () => {
  const day0 = T1 - 86400;
  const lines = [];
  for (let s = 0; s < 20; s++) {
    for (let t = day0; t <= T1; t += 10) lines.push(`e2eload.host${String(s).padStart(2, '0')}.rps ${s * 10 + ((t / 10) % 50)} ${t}`);
  }
  for (let i = 0; i < lines.length; i += 50000) await lk.metrics(lines.slice(i, i + 50000).join('\n'));
  const p = await page();
  await p.goto(`${lk.base}/explore?target=e2eload.*.rps&from=${day0}&until=${T1}`);
  await p.waitForSelector('.graph-host[data-drawn="20"]', WAIT);
  const m = await p.evaluate(() => {
    const first = performance.getEntriesByName('lookout:first-graph')[0].startTime;
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    return { first, bytes: nav.transferSize + res.reduce((a, r) => a + r.transferSize, 0), requests: 1 + res.length };
  });
  assert.ok(m.first > 0 && m.bytes > 0);
  console.log(`ui-measure: first graph of 20 series x 24 h drawn ${m.first.toFixed(0)} ms after navigation start; ${m.bytes} bytes transferred in ${m.requests} requests`);
  await shot(p, 'explore-20-series');
  // The same page on a phone, in the light theme.
  const phone = await page({ viewport: { width: 390, height: 844 }, colorScheme: 'light', isMobile: true, hasTouch: true });
  await phone.goto(`${lk.base}/explore?target=e2eload.host0*.rps&from=${day0}&until=${T1}`);
  await phone.waitForSelector('.graph-host[data-drawn]', WAIT);
  await shot(phone, 'explore-phone-light');
  assert.deepEqual([...p.errors, ...phone.errors], []);
  await phone.context().close();
  await p.context().close();
});

test('with a token set, the page asks for it once and sends it as a header, never in a URL', async () => {
  const tokenFile = join(tmpdir(), `lookout-ui-token-${process.pid}`);
  writeFileSync(tokenFile, 's3cret-token\n');
  const secured = await startLookout(['--auth-token-file', tokenFile]);
  try {
    const now = Math.floor(Date.now() / 1000);
    const body = [0, 1, 2, 3].map((i) => `e2eauth.x ${i} ${now - 60 + i * 10}`).join('\n');
    const res = await fetch(`${secured.base}/api/v1/metrics`, { method: 'POST', body, headers: { Authorization: 'Bearer s3cret-token' } });
    assert.equal(res.status, 200);
    const p = await page();
    const urls = [];
    const auth = [];
    p.on('request', (r) => { urls.push(r.url()); if (r.headers().authorization) auth.push(r.headers().authorization); });
    await p.goto(`${secured.base}/explore?target=e2eauth.x&from=-10min`);
    await p.waitForSelector('dialog#auth[open]', WAIT);
    await p.fill('dialog#auth input', 's3cret-token');
    await p.click('dialog#auth button[type=submit]');
    await p.waitForSelector('.graph-host[data-drawn="1"]', WAIT);
    assert.ok(auth.length > 0 && auth.every((a) => a === 'Bearer s3cret-token'));
    assert.ok(!urls.some((u) => u.includes('s3cret')), 'the token appeared in a URL');
    // Another view in the same tab needs no second prompt.
    await p.click('a[data-nav="logs"]');
    await logMessages(p);
    assert.equal(await p.locator('dialog#auth[open]').count(), 0);
    assert.deepEqual(p.errors, []);
    await p.context().close();
  } finally {
    await secured.stop();
    rmSync(tokenFile, { force: true });
  }
});
