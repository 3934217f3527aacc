// The live alert feed: GET /v1/stream as Server-Sent Events, read with fetch() so the
// bearer header can be sent (EventSource cannot). Frames are parsed here; after a drop the
// client reconnects by itself with backoff and resumes with Last-Event-ID, so nothing is
// missed and nothing comes twice.

import { apiUrl, getToken, authorizedFetch } from './api.js';

const MIN_DELAY = 1000;
const MAX_DELAY = 30_000;
/** The server sends a keep-alive every 15 s; silence longer than this means a dead link. */
const SILENCE_MS = 45_000;
/**
 * A connection counts as healthy (the backoff starts over) once the server has sent a frame
 * or a keep-alive comment, or after this long connected: an answer of 200 alone does not,
 * so a server that accepts and drops at once is retried with growing delays.
 */
const HEALTHY_MS = 30_000;

/** A server's `retry:` hint, kept within the client's own bounds (a 0 would be a hot loop). */
export function clampRetry(ms) {
  return Math.min(MAX_DELAY, Math.max(MIN_DELAY, Number(ms) || 0));
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  if (signal) signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

/**
 * Incremental SSE parser: feed() text as it arrives; onEvent({id, event, data}) for each
 * complete message, onRetry(ms) for a `retry:` field, onComment() for a comment line (the
 * server's keep-alive).
 */
export class SseParser {
  constructor(onEvent, onRetry, onComment) {
    this.onEvent = onEvent;
    this.onRetry = onRetry || (() => {});
    this.onComment = onComment || (() => {});
    this.buf = '';
    this.reset();
    this.lastId = null;
  }

  reset() {
    this.data = [];
    this.event = '';
    this.hasData = false;
  }

  feed(text) {
    this.buf += text;
    for (;;) {
      const i = this.buf.search(/[\r\n]/);
      if (i < 0) return;
      // A CR at the very end may be the first half of CRLF: wait for more.
      if (this.buf[i] === '\r' && i === this.buf.length - 1) return;
      const skip = this.buf[i] === '\r' && this.buf[i + 1] === '\n' ? 2 : 1;
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + skip);
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      if (this.hasData) {
        this.onEvent({ id: this.lastId, event: this.event || 'message', data: this.data.join('\n') });
      }
      this.reset();
      return;
    }
    if (line.startsWith(':')) {
      this.onComment();
      return;
    }
    const c = line.indexOf(':');
    const field = c < 0 ? line : line.slice(0, c);
    let value = c < 0 ? '' : line.slice(c + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.onRetry(Number(value));
        break;
      default:
        break;
    }
  }
}

/**
 * A self-healing subscription to the alert stream.
 *   new AlertStream({ after, query, token, onAlert, onState, onUnauthorized }).start()
 * States: connecting, live, reconnecting (with the delay), stopped. With `token`, the
 * stream belongs to that sign-in: it stops once the stored token is another one.
 */
export class AlertStream {
  constructor({ after = null, query = {}, token = null, onAlert, onState, onUnauthorized }) {
    this.lastId = after === null || after === undefined ? null : String(after);
    this.query = query;
    this.token = token;
    this.onAlert = onAlert || (() => {});
    this.onState = onState || (() => {});
    this.onUnauthorized = onUnauthorized || (() => {});
    this.stopped = true;
    this.attempt = 0;
    this.retryHint = null;
    this.controller = null;
  }

  start() {
    if (!this.stopped) return this;
    this.stopped = false;
    this.life = new AbortController();
    this.loop();
    return this;
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
    if (this.life) this.life.abort();
    this.state('stopped');
  }

  /** Drops the current connection (the loop reconnects); for tests and for "reconnect now". */
  reconnect() {
    if (this.controller) this.controller.abort();
  }

  state(name, extra = {}) {
    this.current = name;
    this.onState({ state: name, lastId: this.lastId, ...extra });
  }

  async loop() {
    while (!this.stopped) {
      const token = getToken();
      if (!token || (this.token && token !== this.token)) {
        this.stop();
        return;
      }
      this.state(this.attempt ? 'reconnecting' : 'connecting', { attempt: this.attempt });
      const controller = new AbortController();
      this.controller = controller;
      let status = 0;
      try {
        const headers = { Accept: 'text/event-stream' };
        if (this.lastId !== null) headers['Last-Event-ID'] = this.lastId;
        const res = await authorizedFetch(apiUrl('v1/stream', this.query), token, { headers, signal: controller.signal });
        status = res.status;
        if (res.status === 401) {
          this.stopped = true;
          this.state('stopped', { error: 'unauthorized' });
          this.onUnauthorized();
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        // Live, but the backoff only starts over once the connection proves itself (read()).
        this.state('live');
        await this.read(res.body, controller);
      } catch (e) {
        if (this.stopped) return;
        this.lastError = e && e.message;
      }
      if (this.stopped) return;
      this.attempt += 1;
      const base = this.retryHint === null ? MIN_DELAY : clampRetry(this.retryHint);
      const cap = status >= 400 && status < 500 ? MAX_DELAY : Math.min(MAX_DELAY, base * 2 ** Math.min(this.attempt - 1, 6));
      const delay = Math.round(cap * (0.75 + Math.random() * 0.5));
      this.state('reconnecting', { attempt: this.attempt, delay, error: this.lastError });
      await sleep(delay, this.life.signal);
    }
  }

  async read(body, controller) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let watchdog;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => controller.abort(), SILENCE_MS);
    };
    const healthy = () => {
      clearTimeout(settle);
      this.attempt = 0;
    };
    const settle = setTimeout(healthy, HEALTHY_MS);
    const parser = new SseParser((m) => {
      healthy();
      if (m.id !== null) this.lastId = m.id;
      // `alert.updated`: a new version of an alert sent before (a graph finding that
      // grew); its message says `updated: true` and carries no new id.
      if (m.event !== 'alert' && m.event !== 'message' && m.event !== 'alert.updated') return;
      let data;
      try {
        data = JSON.parse(m.data);
      } catch {
        return;
      }
      this.onAlert(data, m.id);
    }, (ms) => { this.retryHint = clampRetry(ms); }, healthy);
    parser.lastId = this.lastId;
    arm();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        arm();
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } finally {
      clearTimeout(watchdog);
      clearTimeout(settle);
      try { reader.releaseLock(); } catch { /* already released */ }
    }
  }
}
