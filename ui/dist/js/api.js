// The HTTP client of lookout's API. Owns the bearer token: asked for in a dialog on a 401,
// kept in sessionStorage (this tab only) and sent as a header, never put in a URL.
// Knows nothing about views.

const TOKEN_KEY = 'lookout.token';
let asking = null;

/** An API reply that was not 2xx. */
export class ApiError extends Error {
  constructor(status, text) {
    super(`HTTP ${status}: ${text.slice(0, 300)}`);
    this.status = status;
  }
}

/** A query string from an object; arrays repeat the key, empty values are left out. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const x of Array.isArray(v) ? v : [v]) {
      if (x !== undefined && x !== null && x !== '') p.append(k, String(x));
    }
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

function headers(extra) {
  const hd = new Headers(extra || {});
  const t = sessionStorage.getItem(TOKEN_KEY);
  if (t) hd.set('Authorization', `Bearer ${t}`);
  return hd;
}

/** Opens the token dialog once, however many requests got a 401 meanwhile. */
function askToken() {
  if (asking) return asking;
  asking = new Promise((resolve) => {
    const dlg = document.getElementById('auth');
    const input = dlg.querySelector('input');
    input.value = '';
    dlg.addEventListener('close', () => {
      if (input.value) sessionStorage.setItem(TOKEN_KEY, input.value);
      asking = null;
      resolve();
    }, { once: true });
    dlg.showModal();
  });
  return asking;
}

/** fetch with the token; on a 401 asks for a token and retries. Throws ApiError when not 2xx. */
export async function request(path, opts = {}) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(path, { ...opts, headers: headers(opts.headers) });
    if (res.status === 401 && attempt < 3) {
      await askToken();
      continue;
    }
    if (!res.ok) throw new ApiError(res.status, await res.text().catch(() => ''));
    return res;
  }
}

/** GET (or opts.method) path + params, parsed as JSON. */
export async function getJSON(path, params = {}, opts = {}) {
  const res = await request(path + qs(params), opts);
  return res.json();
}

/** Sends a JSON body and parses the JSON reply (empty replies give null). */
export async function sendJSON(method, path, body) {
  const res = await request(path, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/**
 * Reads a Server-Sent Events stream through fetch, so the bearer header can be sent (an
 * EventSource cannot). Calls onEvent(type, data) per event until signal aborts or the stream ends.
 */
export async function stream(path, params, onEvent, signal) {
  const res = await request(path + qs(params), { signal, headers: { Accept: 'text/event-stream' } });
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let type = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) onEvent(type, data.join('\n'));
    }
  }
}
