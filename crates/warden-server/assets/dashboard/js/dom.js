// Small DOM helpers shared by every page. Text from the API only ever reaches the page
// through text nodes and attribute values, never as markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false || c === true) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'indeterminate', 'hidden', 'open']);

function apply(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.flat(Infinity).filter(Boolean).join(' ') : v);
    } else if (k === 'testid') {
      el.setAttribute('data-testid', v);
    } else if (k === 'text') {
      el.textContent = String(v);
    } else if (PROPS.has(k) && !(el instanceof SVGElement)) {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

/** An HTML element: h('a', {href, class, testid, on: {click}}, children...). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element, same conventions as h(). */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// ---- formatting -----------------------------------------------------------------------

const nf = new Intl.NumberFormat('en-US');

export function num(n) {
  return typeof n === 'number' && Number.isFinite(n) ? nf.format(n) : '—';
}

export function score(n) {
  return typeof n === 'number' && Number.isFinite(n) ? n.toFixed(1) : '—';
}

export function pct(x) {
  return typeof x === 'number' && Number.isFinite(x) ? `${Math.round(x * 100)}%` : '—';
}

export function gb(x) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '—';
  if (x >= 100) return `${x.toFixed(0)} GB`;
  if (x >= 1) return `${x.toFixed(2)} GB`;
  if (x >= 0.001) return `${(x * 1000).toFixed(1)} MB`;
  return `${(x * 1e6).toFixed(0)} kB`;
}

export function parseTime(ts) {
  if (!ts) return null;
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? null : d;
}

const pad = (n) => String(n).padStart(2, '0');

/** An instant as the API compares times: RFC 3339 in UTC, whole seconds ("…T20:01:33Z"). */
export function rfc3339(d) {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** "2026-05-05 20:01:33" in UTC (the API's times are UTC). */
export function time(ts, { seconds = true } = {}) {
  const d = ts instanceof Date ? ts : parseTime(ts);
  if (!d) return ts ? String(ts) : '—';
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return seconds ? `${base}:${pad(d.getUTCSeconds())}` : base;
}

export function day(ts) {
  const d = ts instanceof Date ? ts : parseTime(ts);
  if (!d) return '—';
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

export function ago(ts, now = Date.now()) {
  const d = ts instanceof Date ? ts : parseTime(ts);
  if (!d) return '';
  const s = Math.round((now - d.getTime()) / 1000);
  const abs = Math.abs(s);
  const unit = abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.round(abs / 60), 'min'] : abs < 86400 ? [Math.round(abs / 3600), 'h'] : [Math.round(abs / 86400), 'd'];
  return s >= 0 ? `${unit[0]} ${unit[1]} ago` : `in ${unit[0]} ${unit[1]}`;
}

export function duration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '—';
  const d = Math.floor(seconds / 86400);
  const hh = Math.floor((seconds % 86400) / 3600);
  const mm = Math.floor((seconds % 3600) / 60);
  if (d) return `${d} d ${hh} h`;
  if (hh) return `${hh} h ${mm} min`;
  if (mm) return `${mm} min`;
  return `${Math.floor(seconds)} s`;
}

/** "new_device" → "New device". */
export function humanize(s) {
  if (!s) return '';
  const t = String(s).replace(/_/g, ' ');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

// ---- vocabulary -----------------------------------------------------------------------

export const LEVELS = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
export const STATUSES = ['new', 'acknowledged', 'resolved', 'false_positive'];
export const ANOMALY_TYPES = [
  'impossible_travel', 'unusual_time', 'unusual_volume', 'unusual_resources', 'new_device',
  'new_location', 'failed_login_burst', 'behavioral_deviation', 'model_anomaly', 'rule_match',
  'network_anomaly', 'graph_pattern', 'malicious_command',
];

export function levelRank(level) {
  const i = LEVELS.indexOf(String(level).toUpperCase());
  return i < 0 ? -1 : i;
}

/** The level a score falls in with the default thresholds (20, 50, 80); for colouring. */
export function levelOfScore(v) {
  if (v >= 80) return 'CRITICAL';
  if (v >= 50) return 'HIGH';
  if (v >= 20) return 'MEDIUM';
  return 'LOW';
}

export function levelClass(level) {
  const l = String(level || '').toUpperCase();
  return LEVELS.includes(l) ? `lv-${l.toLowerCase()}` : 'lv-unknown';
}

export function levelBadge(level, testid) {
  return h('span', { class: ['badge', 'badge-level', levelClass(level)], testid }, String(level || '?'));
}

export function statusBadge(status, testid) {
  const st = STATUSES.includes(status) ? status : 'unknown';
  return h('span', { class: ['badge', 'badge-status', `st-${st}`], testid }, humanize(status || 'unknown'));
}

export function typeChip(type) {
  return h('span', { class: 'chip' }, humanize(type));
}

/** A link to a user's page. */
export function userLink(user, attrs = {}) {
  return h('a', { href: `#/users/${encodeURIComponent(user)}`, class: 'user-link', ...attrs }, user);
}

export function alertLink(id, label, attrs = {}) {
  return h('a', { href: `#/alerts/${encodeURIComponent(id)}`, ...attrs }, label ?? `#${id}`);
}

// ---- page states ----------------------------------------------------------------------

export function loading(label = 'Loading…') {
  return h('div', { class: 'state state-loading', role: 'status', testid: 'loading' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), label);
}

export function empty(message, hint) {
  return h('div', { class: 'state state-empty', testid: 'empty' }, h('p', { class: 'state-title' }, message), hint ? h('p', { class: 'muted' }, hint) : null);
}

/** A visible error with the API's message (and the field it names), and a retry button. */
export function errorBox(err, retry) {
  const field = err && err.field ? ` (field: ${err.field})` : '';
  const code = err && err.code ? err.code : 'error';
  return h('div', { class: 'state state-error', role: 'alert', testid: 'error' },
    h('p', { class: 'state-title' }, err && err.status === 403 ? 'Not allowed' : 'Something went wrong'),
    h('p', null, `${(err && err.message) || String(err)}${field}`),
    h('p', { class: 'muted small' }, `code: ${code}${err && err.status ? `, HTTP ${err.status}` : ''}`),
    retry ? h('button', { type: 'button', class: 'btn', on: { click: retry } }, 'Try again') : null);
}

export function notice(text, kind = 'info', testid) {
  return h('div', { class: ['notice', `notice-${kind}`], testid }, text);
}

// ---- toasts ---------------------------------------------------------------------------

/** Most notifications of each kind on screen at once (the oldest goes first). */
const MAX_TOASTS = 3;
const MAX_ERROR_TOASTS = 4;

/**
 * A notification with a close button. Errors are announced at once (role="alert") and stay
 * until dismissed; the others are announced politely and go after `ms`, held while the
 * pointer or the keyboard focus is on them.
 */
export function toast(message, kind = 'info', ms = 5000) {
  const box = document.querySelector('.toasts');
  if (!box) return null;
  const error = kind === 'error';
  // Errors sit beside the polite region, not inside it, so they are announced once.
  const region = error ? box : (box.querySelector('.toasts-polite') || box);
  let timer = null;
  const t = h('div', { class: ['toast', `toast-${kind}`], testid: 'toast', role: error ? 'alert' : null, 'data-kind': kind });
  const dismiss = () => {
    clearTimeout(timer);
    const hadFocus = t.contains(document.activeElement);
    t.remove();
    if (hadFocus) document.getElementById('main')?.focus({ preventScroll: true });
  };
  const close = h('button', {
    type: 'button', class: 'toast-close', testid: 'toast-close', 'aria-label': 'Dismiss notification', title: 'Dismiss',
    on: { click: dismiss },
  }, h('span', { 'aria-hidden': 'true' }, '×'));
  replace(t, h('span', { class: 'toast-text' }, message), close);
  t.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') dismiss();
  });
  const own = [...region.children].filter((c) => c.classList.contains('toast') && (c.dataset.kind === 'error') === error);
  for (const old of own.slice(0, Math.max(0, own.length + 1 - (error ? MAX_ERROR_TOASTS : MAX_TOASTS)))) old.remove();
  region.appendChild(t);
  if (!error) {
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(dismiss, ms);
    };
    const hold = () => clearTimeout(timer);
    t.addEventListener('mouseenter', hold);
    t.addEventListener('focusin', hold);
    t.addEventListener('mouseleave', () => { if (!t.contains(document.activeElement)) arm(); });
    t.addEventListener('focusout', (ev) => { if (!t.contains(ev.relatedTarget) && !t.matches(':hover')) arm(); });
    arm();
  }
  return t;
}

/** A card with a title row and a body. */
export function card(title, body, { testid, actions, className } = {}) {
  return h('section', { class: ['card', className], testid },
    title || actions ? h('div', { class: 'card-head' }, title ? h('h2', null, title) : null, actions ? h('div', { class: 'card-actions' }, actions) : null) : null,
    body);
}

/** A key/value list. */
export function facts(rows, testid) {
  return h('dl', { class: 'facts', testid }, rows.filter(Boolean).map(([k, v, id]) => [
    h('dt', null, k),
    h('dd', { testid: id }, v === null || v === undefined || v === '' ? '—' : v),
  ]));
}

/**
 * A horizontally scrollable, focusable wrapper for wide tables. Each cell is labelled with
 * its column's heading (data-label), which narrow screens show when rows are stacked.
 */
export function tableWrap(table, label) {
  const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent.replace(/[▲▼↕]/g, '').trim());
  for (const tr of table.querySelectorAll('tbody tr')) {
    [...tr.children].forEach((td, i) => {
      if (!td.hasAttribute('data-label')) td.setAttribute('data-label', heads[i] || '');
    });
  }
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': label }, table);
}
