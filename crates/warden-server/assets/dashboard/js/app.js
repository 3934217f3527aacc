// The Warden dashboard: sign-in, theme, hash routing and the shared live feed.

import * as api from './api.js';
import { AlertStream } from './stream.js';
import { h, replace, errorBox, toast } from './dom.js';
import * as overview from './pages/overview.js';
import * as alerts from './pages/alerts.js';
import { clearTrail } from './pages/alerts.js';
import * as alertPage from './pages/alert.js';
import * as incidents from './pages/incidents.js';
import * as incidentPage from './pages/incident.js';
import * as user from './pages/user.js';
import * as system from './pages/system.js';
import * as payload from './pages/payload.js';
import * as signin from './pages/signin.js';

const THEME_KEY = 'warden.theme';
const main = document.getElementById('main');

// ---- theme ----------------------------------------------------------------------------

function systemDark() {
  return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
}

function storedTheme() {
  try {
    const t = localStorage.getItem(THEME_KEY);
    return t === 'dark' || t === 'light' ? t : null;
  } catch {
    return null;
  }
}

function currentTheme() {
  return storedTheme() || (systemDark() ? 'dark' : 'light');
}

function applyTheme() {
  const theme = currentTheme();
  document.documentElement.setAttribute('data-theme', theme);
  // A toggle button: its name stays "Dark theme", its state is aria-pressed.
  const btn = document.querySelector('[data-testid="theme-toggle"]');
  if (btn) btn.setAttribute('aria-pressed', theme === 'dark' ? 'true' : 'false');
}

function toggleTheme() {
  const next = currentTheme() === 'dark' ? 'light' : 'dark';
  try {
    localStorage.setItem(THEME_KEY, next);
  } catch {
    /* not remembered */
  }
  applyTheme();
}

// ---- who is signed in -----------------------------------------------------------------

/**
 * The sign-in generation: bumped at each sign-in and sign-out. An answer that comes back
 * for an older generation (a whoami or a resume point read with the previous token) is
 * dropped instead of being applied to the new caller.
 */
let generation = 0;

/** The caller as GET /v1/whoami describes it: {tenant, scope, token_id}; null when unknown. */
export const caller = { me: null, pending: null };

const SCOPE_TEXT = {
  read: 'read only: alerts can be viewed, not triaged',
  write: 'read and triage',
  admin: 'read, triage and the audit log',
};

function showMe() {
  const el = document.querySelector('[data-testid="whoami"]');
  if (!el) return;
  const me = caller.me;
  el.hidden = !me || !api.getToken();
  if (!me) return;
  el.querySelector('.whoami-tenant').textContent = me.tenant;
  const scope = el.querySelector('.whoami-scope');
  scope.textContent = me.scope;
  scope.dataset.scope = me.scope;
  el.title = `Tenant ${me.tenant}, token #${me.token_id} with ${me.scope} scope (${SCOPE_TEXT[me.scope] || me.scope})`;
}

/** Loads the caller once per sign-in; pages wait for it to know what to offer. */
function loadMe() {
  if (caller.me) return Promise.resolve(caller.me);
  const token = api.getToken();
  if (!token) return Promise.resolve(null);
  if (!caller.pending) {
    const gen = generation;
    const pending = api.get('v1/whoami', null, { token, quiet401: false })
      .then((me) => {
        // Signed out (and maybe in again) meanwhile: this answer is about another token.
        if (gen !== generation || api.getToken() !== token) return null;
        caller.me = me && typeof me === 'object' ? me : null;
        showMe();
        return caller.me;
      })
      .catch(() => null)
      .finally(() => {
        if (caller.pending === pending) caller.pending = null;
      });
    caller.pending = pending;
  }
  return caller.pending;
}

function forgetMe() {
  caller.me = null;
  caller.pending = null;
  showMe();
}

/** Whether the signed-in token may change alerts (unknown: yes, the API decides). */
export function canWrite(me = caller.me) {
  return !me || me.scope === 'write' || me.scope === 'admin';
}

/** Whether the signed-in token may read the audit log (unknown: try, a 403 is explained). */
export function isAdmin(me = caller.me) {
  return !me || me.scope === 'admin';
}

// ---- live feed hub --------------------------------------------------------------------

/** The one stream connection of the app; pages subscribe to it. */
export const live = {
  stream: null,
  state: 'off',
  recent: [],
  listeners: new Set(),
  stateListeners: new Set(),
  unseen: 0,
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  },
  onState(fn) {
    this.stateListeners.add(fn);
    fn(this.state);
    return () => this.stateListeners.delete(fn);
  },
};

const LIVE_LABELS = { off: 'Offline', connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', stopped: 'Offline' };

function showLiveState(info) {
  live.state = info.state;
  const el = document.querySelector('[data-testid="live-state"]');
  if (el) {
    el.dataset.state = info.state;
    const lbl = el.querySelector('.live-label');
    let text = LIVE_LABELS[info.state] || info.state;
    if (info.state === 'reconnecting' && info.delay) text = `Reconnecting in ${Math.max(1, Math.round(info.delay / 1000))} s`;
    lbl.textContent = text;
    el.title = info.state === 'live' ? 'Receiving alerts as they are stored' : (info.error ? `Stream: ${info.error}` : text);
  }
  for (const fn of live.stateListeners) fn(info.state, info);
}

function showUnseen() {
  const badge = document.querySelector('[data-testid="nav-new-count"]');
  if (!badge) return;
  badge.hidden = live.unseen === 0;
  badge.textContent = live.unseen > 99 ? '99+' : String(live.unseen);
  badge.setAttribute('aria-label', `${live.unseen} new alerts`);
}

const LOOKUP_MIN_DELAY = 1000;
const LOOKUP_MAX_DELAY = 30_000;

const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

/** Ends with the sign-in it was made for: the start-up lookup's retries stop with it. */
let liveLife = null;

/**
 * The id of the newest stored alert, read with this sign-in's token: 0 only when the list
 * is really empty. A failure (network, 5xx) is retried with backoff until it answers;
 * null when the sign-in ended meanwhile or the token was refused.
 */
async function newestAlertId(gen, token, signal) {
  for (let attempt = 1; ; attempt += 1) {
    let error;
    try {
      const page = await api.get('v1/alerts', { limit: 1 }, { token, signal });
      if (!page || !Array.isArray(page.alerts)) throw new api.ApiError(0, 'invalid', 'The alert list came back without alerts.');
      const top = page.alerts[0];
      if (top === undefined) return 0;
      const id = Number(top.id);
      if (!Number.isSafeInteger(id) || id < 0) throw new api.ApiError(0, 'invalid', 'The newest alert has no valid id.');
      return id;
    } catch (e) {
      if (api.isAbort(e) || e.status === 401) return null;
      error = e;
    }
    if (gen !== generation || signal.aborted) return null;
    const cap = Math.min(LOOKUP_MAX_DELAY, LOOKUP_MIN_DELAY * 2 ** Math.min(attempt - 1, 6));
    const delay = Math.round(cap * (0.75 + Math.random() * 0.5));
    showLiveState({ state: 'reconnecting', delay, error: error && error.message });
    await sleep(delay, signal);
    if (gen !== generation || signal.aborted) return null;
  }
}

async function startLive() {
  const token = api.getToken();
  if (!token || live.stream || liveLife) return;
  const gen = generation;
  const life = new AbortController();
  liveLife = life;
  showLiveState({ state: 'connecting' });
  // Resume after the newest stored alert: the feed shows what comes next (the pages load
  // what exists), so a big store is never replayed. Until that id is known there is no
  // stream: resuming after 0 would replay the whole history.
  const after = await newestAlertId(gen, token, life.signal);
  if (after === null || gen !== generation || life.signal.aborted || api.getToken() !== token || live.stream) return;
  live.stream = new AlertStream({
    after,
    token,
    onState: showLiveState,
    onUnauthorized: () => {
      if (gen === generation) signOut('Your token was rejected. Sign in again.');
    },
    onAlert: (msg) => {
      if (msg.updated) {
        // A newer version of an alert already shown: replace it, count nothing new.
        const i = live.recent.findIndex((r) => r.alert_id === msg.alert_id);
        if (i >= 0) live.recent[i] = msg;
      } else {
        live.recent.unshift(msg);
        if (live.recent.length > 100) live.recent.length = 100;
        if (!location.hash.startsWith('#/alerts') || location.hash.startsWith('#/alerts/')) {
          live.unseen += 1;
          showUnseen();
        }
      }
      for (const fn of live.listeners) {
        try {
          fn(msg);
        } catch (e) {
          console.warn('live listener failed', e);
        }
      }
    },
  }).start();
}

function stopLive() {
  if (liveLife) liveLife.abort();
  liveLife = null;
  if (live.stream) live.stream.stop();
  live.stream = null;
  live.recent = [];
  live.unseen = 0;
  showUnseen();
  showLiveState({ state: 'off' });
}

// ---- routing --------------------------------------------------------------------------

const ROUTES = [
  [/^\/?$/, overview, 'Overview', 'overview'],
  [/^\/overview$/, overview, 'Overview', 'overview'],
  [/^\/alerts$/, alerts, 'Alerts', 'alerts'],
  [/^\/alerts\/([^/]+)$/, alertPage, 'Alert', 'alerts'],
  [/^\/incidents$/, incidents, 'Incidents', 'incidents'],
  [/^\/incidents\/([^/]+)$/, incidentPage, 'Incident', 'incidents'],
  [/^\/users\/(.+)$/, user, 'User', 'overview'],
  [/^\/system$/, system, 'Models & rules', 'system'],
  [/^\/payload$/, payload, 'Payload analysis', 'payload'],
  [/^\/payload\/jobs\/([^/]+)$/, { render: payload.renderJob }, 'Payload job', 'payload'],
];

export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#/, '') || '/overview';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  return { path, query };
}

/** Builds "#/path?k=v" from a path and an object of parameters (empty ones dropped). */
export function hashOf(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const qs = q.toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

export function navigate(path, params, { replace: rep = false } = {}) {
  const target = hashOf(path, params);
  if (target === location.hash) {
    route();
  } else if (rep) {
    history.replaceState(null, '', target);
    route();
  } else {
    location.hash = target;
  }
}

let current = null;
let firstRender = true;
/** The path of the page shown ("#signin" for the sign-in form), to tell a new page from a new query. */
let shownPath = null;

// ---- focus across routes ----
// A new page (its path changed): focus goes to its heading as soon as it is painted, so a
// screen reader announces it and the keyboard starts from the top. The same page with
// another query (sort, paging, filters) or reloaded after a change: focus stays on the
// control that was used — found again by its data-testid or id in the redrawn page.

function focusKeyOf(el) {
  if (!el || el === document.body || !main.contains(el)) return null;
  const testid = el.getAttribute('data-testid');
  if (testid) return `[data-testid="${CSS.escape(testid)}"]`;
  if (el.id) return `#${CSS.escape(el.id)}`;
  return null;
}

function focusLost() {
  const a = document.activeElement;
  return !a || a === document.body || !a.isConnected;
}

function focusHeading() {
  const h1 = main.querySelector('h1');
  if (!h1) return;
  h1.setAttribute('tabindex', '-1');
  h1.focus({ preventScroll: true });
}

function refocus(key) {
  const found = key ? main.querySelectorAll(key) : [];
  if (found.length !== 1) return false;
  found[0].focus();
  return document.activeElement === found[0];
}

async function route() {
  if (current) {
    current.controller.abort();
    for (const fn of current.cleanups) fn();
  }
  const { path, query } = parseHash();
  const signedIn = !!api.getToken();
  const view = signedIn ? path : '#signin';
  const newPage = !firstRender && view !== shownPath;
  const active = document.activeElement;
  const keep = newPage ? null : focusKeyOf(active);
  const focusWasInMain = !!active && active !== main && main.contains(active);
  shownPath = view;
  firstRender = false;
  document.querySelector('[data-testid="nav"]').hidden = !signedIn;
  document.querySelector('[data-testid="sign-out"]').hidden = !signedIn;
  document.querySelector('[data-testid="live-state"]').hidden = !signedIn;
  const controller = new AbortController();
  const ctx = {
    query,
    params: [],
    signal: controller.signal,
    cleanups: [],
    controller,
    navigate,
    hashOf,
    live,
    me: null,
    canWrite: () => canWrite(ctx.me),
    isAdmin: () => isAdmin(ctx.me),
    onCleanup(fn) { this.cleanups.push(fn); },
    /** Runs this page's route again ("Try again"), unless another page has replaced it. */
    retry() {
      if (current === ctx) route();
    },
  };
  current = ctx;
  if (!signedIn) {
    document.title = 'Sign in · Warden';
    document.body.dataset.page = 'signin';
    markNav(null);
    signin.render(main, { ...ctx, onSignedIn });
    return;
  }
  const found = ROUTES.find(([re]) => re.test(path));
  if (!found) {
    document.title = 'Not found · Warden';
    markNav(null);
    replace(main, h('div', { class: 'page' }, h('h1', { tabindex: '-1' }, 'Page not found'),
      h('p', null, 'There is no page at ', h('code', null, path), '. ', h('a', { href: '#/overview' }, 'Go to the overview'), '.')));
    if (newPage || focusLost()) focusHeading();
    return;
  }
  ctx.me = await loadMe();
  if (controller.signal.aborted || !api.getToken()) return;
  const [re, page, label, nav] = found;
  ctx.params = (re.exec(path) || []).slice(1).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  document.title = `${label} · Warden`;
  document.body.dataset.page = nav;
  markNav(nav);
  if (nav === 'alerts' && path === '/alerts') {
    live.unseen = 0;
    showUnseen();
  }
  // render() paints synchronously up to its first await (the page's heading, its frame):
  // a new page takes the focus there, before its data has come.
  let rendering;
  try {
    rendering = page.render(main, ctx);
  } catch (e) {
    rendering = Promise.reject(e);
  }
  if (newPage) {
    focusHeading();
    window.scrollTo(0, 0);
  } else if (keep && focusLost()) {
    refocus(keep);
  }
  try {
    await rendering;
  } catch (e) {
    if (api.isAbort(e) || ctx.signal.aborted) return;
    console.warn(e);
    replace(main, h('div', { class: 'page' }, h('h1', { tabindex: '-1' }, label), errorBox(e, () => ctx.retry())));
  }
  if (ctx.signal.aborted || !focusLost()) return;
  // The element that had the focus was redrawn: the same control again, else the heading.
  if (newPage || !refocus(keep)) {
    if (newPage || focusWasInMain) focusHeading();
  }
}

function markNav(name) {
  for (const a of document.querySelectorAll('.mainnav a')) {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// ---- sign-in / out --------------------------------------------------------------------

function onSignedIn(me) {
  generation += 1;
  caller.pending = null;
  caller.me = me && typeof me === 'object' ? me : null;
  showMe();
  startLive();
  const { path } = parseHash();
  if (path === '/signin' || path === '/') navigate('/overview', {}, { replace: true });
  else route();
}

export function signOut(message) {
  generation += 1;
  api.clearToken();
  forgetMe();
  stopLive();
  clearTrail();
  if (message) signin.setMessage(message);
  route();
}

// ---- start ----------------------------------------------------------------------------

/**
 * A page opened by its path (/ui/alerts/55?x=1, a bookmark or a link from elsewhere) goes
 * to the same page under the hash router (/ui/#/alerts/55?x=1). The server answers such
 * paths with this entry page, whose files are referenced from /ui/ so they load anyway.
 */
export function deepLinkTarget(loc, base) {
  if (loc.pathname === base || !loc.pathname.startsWith(base)) return null;
  const rest = loc.pathname.slice(base.length).replace(/\/+$/, '');
  if (!rest || rest.includes('.')) return null;
  if (loc.hash && loc.hash.startsWith('#/')) return `${base}${loc.hash}`;
  return `${base}#/${rest}${loc.search || ''}`;
}

function start() {
  const target = deepLinkTarget(location, new URL('../', import.meta.url).pathname);
  if (target) {
    location.replace(target);
    return;
  }
  applyTheme();
  if (window.matchMedia) {
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
  }
  window.addEventListener('storage', (e) => {
    if (e.key === THEME_KEY) applyTheme();
  });
  document.querySelector('[data-testid="theme-toggle"]').addEventListener('click', toggleTheme);
  // The skip link moves focus to the content without touching the router's hash.
  document.querySelector('[data-testid="skip-link"]').addEventListener('click', (ev) => {
    ev.preventDefault();
    main.focus();
  });
  document.querySelector('[data-testid="sign-out"]').addEventListener('click', () => {
    signOut();
    toast('Signed out. The token was removed from this tab.');
  });
  api.onUnauthorized(() => signOut('Your token was rejected or has been revoked. Sign in again.'));
  window.addEventListener('hashchange', () => {
    // "#main" and other in-page anchors are not routes.
    if (location.hash && !location.hash.startsWith('#/') && document.getElementById(location.hash.slice(1))) return;
    route();
  });
  if (api.getToken()) {
    loadMe();
    startLive();
  }
  route();
}

start();
