// Runs a real `lookout serve` for the browser tests: a fresh temporary data directory, every
// listener on port 0, the bound HTTP address read from <data>/ready.json (as tests/util/mod.rs
// does), and helpers that send metrics and logs over the HTTP API (each answered once durable,
// so the data is queryable when the call returns). Knows nothing about the page.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const START_DEADLINE_MS = 30000;
const POLL_MS = 25;

/** A running server: { base, dir, stop(), metrics(text), logs(records) }. */
export async function startLookout(extraArgs = []) {
  const bin = process.env.LOOKOUT_BIN;
  if (!bin) throw new Error('LOOKOUT_BIN must name the lookout binary to test (ui/tests/run.sh sets it)');
  const dir = mkdtempSync(join(tmpdir(), 'lookout-ui-'));
  const data = join(dir, 'data');
  const log = openSync(join(dir, 'stderr.log'), 'w');
  const args = ['serve', '--data-dir', data];
  for (const l of ['http', 'graphite', 'pickle', 'syslog', 'gelf', 'statsd']) args.push(`--${l}`, '127.0.0.1:0');
  const child = spawn(bin, [...args, '--retention', '.*=10s:2d', ...extraArgs], { stdio: ['ignore', log, log] });
  let exited = null;
  child.on('exit', (code, sig) => { exited = `exit ${code ?? sig}`; });
  const end = Date.now() + START_DEADLINE_MS;
  let ready = null;
  while (!ready) {
    try { ready = JSON.parse(readFileSync(join(data, 'ready.json'), 'utf8')); } catch { ready = null; }
    if (ready) break;
    if (exited || Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`lookout did not start (${exited || 'no ready.json in time'}):\n${readFileSync(join(dir, 'stderr.log'), 'utf8')}`);
    }
    await delay(POLL_MS);
  }
  const base = `http://${ready.http}`;
  const post = async (path, body) => {
    const res = await fetch(base + path, { method: 'POST', body });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${text}`);
    const reply = JSON.parse(text);
    if (reply.rejected_total) throw new Error(`POST ${path} rejected lines: ${text}`);
    return reply;
  };
  return {
    base,
    dir,
    /** Sends Graphite plaintext lines. */
    metrics: (text) => post('/api/v1/metrics', text),
    /** Sends log records (objects) as NDJSON. */
    logs: (records) => post('/api/v1/logs', records.map((r) => JSON.stringify(r)).join('\n')),
    /** Kills the server and removes its directory. */
    async stop() {
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
    /** The server's log, for failure messages. */
    stderr: () => readFileSync(join(dir, 'stderr.log'), 'utf8'),
  };
}
