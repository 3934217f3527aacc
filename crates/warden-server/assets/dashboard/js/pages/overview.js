// Overview: counts by level and status (server-side tallies), the trend by hour/day/week,
// top risky users and anomaly types, and the live feed of alerts.

import * as api from '../api.js';
import {
  h, replace, num, score, time, ago, humanize, levelBadge, levelClass, LEVELS, loading, empty,
  errorBox, card, duration, parseTime, rfc3339, levelOfScore,
} from '../dom.js';
import { chartBox, stackedBars, meter, legend } from '../charts.js';
import { subjectName } from './evidence.js';

const SPANS = {
  hour: { label: 'Hour', ms: 48 * 3_600_000, text: 'last 48 hours' },
  day: { label: 'Day', ms: 60 * 86_400_000, text: 'last 60 days' },
  week: { label: 'Week', ms: 52 * 7 * 86_400_000, text: 'last 52 weeks' },
};

const pad = (n) => String(n).padStart(2, '0');

/** Alerts listed in the live feed at most. */
const FEED_MAX = 30;

/** The bucket key the server uses for an instant (UTC). */
function bucketOf(d, g) {
  const y = d.getUTCFullYear();
  const md = `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  if (g === 'hour') return `${y}-${md}T${pad(d.getUTCHours())}:00:00Z`;
  if (g === 'day') return `${y}-${md}`;
  // strftime('%W'): weeks start on Monday; days before the first Monday are week 00.
  const yday = Math.floor((Date.UTC(y, d.getUTCMonth(), d.getUTCDate()) - Date.UTC(y, 0, 1)) / 86_400_000);
  const wday = d.getUTCDay();
  const w = Math.floor((yday + 7 - ((wday + 6) % 7)) / 7);
  return `${y}-W${pad(w)}`;
}

function bucketLabel(key, g) {
  if (g === 'hour') return `${key.slice(11, 13)}h`;
  if (g === 'day') return key.slice(5, 10);
  return key.slice(5);
}

/** Every bucket between from and to, with the server's counts where it has some. */
function fillBuckets(buckets, g, from, to) {
  const byKey = new Map(buckets.map((b) => [b.bucket, b]));
  const step = g === 'hour' ? 3_600_000 : 86_400_000;
  const keys = [];
  for (let t = from.getTime(); t <= to.getTime() + step - 1; t += step) {
    const k = bucketOf(new Date(t), g);
    if (keys[keys.length - 1] !== k) keys.push(k);
  }
  for (const b of buckets) if (!keys.includes(b.bucket)) keys.push(b.bucket);
  keys.sort();
  return keys.map((k) => {
    const b = byKey.get(k) || { bucket: k, total: 0, by_level: {} };
    return { key: k, label: bucketLabel(k, g), full: g === 'hour' ? `${k.slice(0, 10)} ${k.slice(11, 13)}:00 UTC` : k, parts: b.by_level || {}, total: b.total || 0 };
  });
}

function bucketRange(key, g) {
  if (g === 'hour') {
    const from = new Date(key);
    return { from: key, to: rfc3339(new Date(from.getTime() + 3_599_000)) };
  }
  if (g === 'day') return { from: `${key}T00:00:00Z`, to: `${key}T23:59:59Z` };
  return null;
}

function kpi(label, value, { testid, cls, href, sub } = {}) {
  const body = [
    h('span', { class: 'kpi-label' }, label),
    h('span', { class: 'kpi-value', testid }, value),
    sub ? h('span', { class: 'kpi-sub' }, sub) : null,
  ];
  return href
    ? h('a', { class: ['kpi', cls], href }, body)
    : h('div', { class: ['kpi', cls] }, body);
}

function feedItem(a, fresh) {
  const types = (a.primary_anomalies || []).map(humanize).join(', ') || 'no primary anomaly';
  return h('li', { class: ['feed-item', fresh ? 'feed-new' : null, levelClass(a.threat_level)], testid: 'feed-item', 'data-alert-id': String(a.alert_id ?? a.id) },
    h('span', { class: 'feed-level' }, levelBadge(a.threat_level)),
    h('span', { class: 'feed-main' },
      h('a', { href: `#/alerts/${a.alert_id ?? a.id}`, class: 'feed-title' }, `${a.user_id}`),
      h('span', { class: 'feed-types' }, types)),
    h('span', { class: 'feed-meta' },
      h('span', { class: 'feed-score', title: 'Threat score' }, score(a.threat_score)),
      h('time', { datetime: a.timestamp, title: time(a.timestamp) }, ago(a.timestamp))));
}

export async function render(main, ctx) {
  const { signal } = ctx;
  const g = SPANS[ctx.query.get('g')] ? ctx.query.get('g') : 'day';
  replace(main, h('div', { class: 'page' }, h('h1', { tabindex: '-1' }, 'Overview'), loading()));
  const [dash, newest] = await Promise.all([
    api.get('v1/analytics/dashboard', null, { signal }),
    api.get('v1/alerts', { limit: 12 }, { signal }),
  ]);
  const counts = dash.alerts || {};
  const byLevel = counts.by_level || {};
  const byStatus = counts.by_status || {};
  const recent = counts.recent_by_level || {};
  const recentTotal = Object.values(recent).reduce((a, b) => a + b, 0);

  const kpis = h('div', { class: 'kpis', testid: 'kpis' },
    kpi('Alerts', num(counts.total || 0), { testid: 'kpi-total', href: '#/alerts', sub: 'all time' }),
    [...LEVELS].reverse().map((l) => kpi(humanize(l.toLowerCase()), num(byLevel[l] || 0), {
      testid: `kpi-level-${l}`, cls: ['kpi-level', levelClass(l)], href: ctx.hashOf('/alerts', { levels: l }), sub: 'at this level',
    })),
    kpi('Open', num(byStatus.new || 0), { testid: 'kpi-status-new', href: ctx.hashOf('/alerts', { status: 'new' }), sub: `${num(byStatus.acknowledged || 0)} acknowledged` }),
    kpi('Last 24 h', num(recentTotal), { testid: 'kpi-recent', sub: `since ${time(dash.last_24h_since, { seconds: false })}` }));

  const statusLine = h('p', { class: 'status-line muted', testid: 'status-breakdown' },
    ['new', 'acknowledged', 'resolved', 'false_positive'].map((st, i) => [
      i ? ' · ' : null,
      h('a', { href: ctx.hashOf('/alerts', { status: st }) }, `${humanize(st)} ${num(byStatus[st] || 0)}`),
    ]));

  // ---- trend ----
  const trendBody = h('div', { class: 'trend-body' }, loading('Loading the trend…'));
  const tabs = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Granularity' },
    Object.entries(SPANS).map(([key, sp]) => h('button', {
      type: 'button', class: 'seg', 'aria-pressed': key === g ? 'true' : 'false', testid: `trend-${key}`,
      on: { click: () => ctx.navigate('/overview', { g: key }, { replace: true }) },
    }, sp.label)));
  const trendCard = card('Alerts over time', trendBody, { testid: 'trend', actions: tabs, className: 'span-2' });

  // ---- live feed ----
  const feedList = h('ol', { class: 'feed', testid: 'live-feed', 'aria-label': 'Latest alerts' });
  const feedState = h('span', { class: 'feed-state', testid: 'feed-state' });
  // The ids shown, so an alert that comes both from the first read and from the stream is
  // listed once; pruned with the list, so it never holds more than FEED_MAX ids.
  const seen = new Set();
  const items = [];
  const addFeed = (a, fresh) => {
    const id = a.alert_id ?? a.id;
    if (seen.has(id)) {
      // A new version of a listed alert (a graph path that grew): shown in its place.
      const idx = items.findIndex((x) => x.id === id);
      if (a.updated && idx >= 0) {
        items[idx].a = a;
        feedList.children[idx].replaceWith(feedItem(a, fresh));
      }
      return;
    }
    // An update of an alert not listed is no new alert.
    if (a.updated) return;
    seen.add(id);
    items.push({ id, a });
    items.sort((x, y) => y.id - x.id);
    const el = feedItem(a, fresh);
    const idx = items.findIndex((x) => x.id === id);
    const before = feedList.children[idx] || null;
    feedList.insertBefore(el, before);
    while (items.length > FEED_MAX) {
      feedList.lastElementChild.remove();
      seen.delete(items.pop().id);
    }
    feedEmpty.hidden = items.length > 0;
  };
  const feedEmpty = h('div', { class: 'feed-empty' }, empty('No alerts yet.', 'New alerts appear here as they are stored.'));
  for (const a of (newest.alerts || [])) addFeed(a, false);
  for (const m of [...ctx.live.recent].reverse()) addFeed(m, false);
  feedEmpty.hidden = items.length > 0;
  // The tallies follow the feed: re-read (aggregated on the server) a moment after alerts
  // arrive, at most every few seconds.
  let pending = null;
  const refreshCounts = async () => {
    pending = null;
    try {
      const d = await api.get('v1/analytics/dashboard', null, { signal });
      const c = d.alerts || {};
      const set = (id, v) => {
        const el = kpis.querySelector(`[data-testid="${id}"]`);
        if (el) el.textContent = num(v || 0);
      };
      set('kpi-total', c.total);
      for (const l of LEVELS) set(`kpi-level-${l}`, (c.by_level || {})[l]);
      set('kpi-status-new', (c.by_status || {}).new);
      set('kpi-recent', Object.values(c.recent_by_level || {}).reduce((a, b) => a + b, 0));
    } catch {
      /* the next alert tries again; a lost token signs out through the API client */
    }
  };
  ctx.onCleanup(ctx.live.subscribe((m) => {
    addFeed(m, true);
    if (!pending) pending = setTimeout(refreshCounts, 2500);
  }));
  ctx.onCleanup(() => clearTimeout(pending));
  ctx.onCleanup(ctx.live.onState((state) => {
    feedState.dataset.state = state;
    feedState.textContent = state === 'live' ? 'Live' : state === 'reconnecting' ? 'Reconnecting…' : state === 'connecting' ? 'Connecting…' : 'Offline';
  }));
  const feedFilter = h('select', {
    class: 'select-small', 'aria-label': 'Levels shown in the feed', testid: 'feed-min-level',
    on: { change: (e) => { feedList.className = `feed${e.target.value ? ` min-${e.target.value.toLowerCase()}` : ''}`; } },
  }, h('option', { value: '' }, 'All levels'), ['MEDIUM', 'HIGH', 'CRITICAL'].map((l) => h('option', { value: l }, `${humanize(l.toLowerCase())}${l === 'CRITICAL' ? '' : '+'}`)));
  const feedCard = card('Live feed', h('div', null, feedEmpty, feedList), { testid: 'feed-card', actions: [feedFilter, feedState], className: 'feed-card' });

  // ---- top users / types ----
  const top = counts.top_entities || [];
  const maxScore = 100;
  const usersBody = top.length
    ? h('table', { class: 'table compact', testid: 'top-users' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'User'), h('th', { scope: 'col', class: 'num' }, 'Alerts'), h('th', { scope: 'col' }, 'Highest score'))),
      h('tbody', null, top.map(([u, n, max]) => h('tr', { testid: 'top-user' },
        h('td', null, subjectName(u)),
        h('td', { class: 'num' }, h('a', { href: ctx.hashOf('/alerts', { user: u }) }, num(n))),
        h('td', { class: 'meter-cell' }, meter(max, maxScore, `meter-fill ${levelClass(levelOfScore(max))}`), h('span', { class: 'num' }, score(max)))))))
    : empty('No users with alerts yet.');
  const types = counts.top_types || [];
  const maxType = Math.max(1, ...types.map((t) => t[1]));
  const typesBody = types.length
    ? h('table', { class: 'table compact', testid: 'top-types' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Anomaly type'), h('th', { scope: 'col', class: 'num' }, 'Alerts'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Share')))),
      h('tbody', null, types.map(([t, n]) => h('tr', { testid: 'top-type' },
        h('td', null, h('a', { href: ctx.hashOf('/alerts', { anomaly_type: t }) }, humanize(t))),
        h('td', { class: 'num' }, num(n)),
        h('td', { class: 'meter-cell' }, meter(n, maxType, 'meter-fill meter-accent'))))))
    : empty('No anomalies yet.');

  const sys = dash.system || {};
  const sysLine = h('p', { class: 'muted small system-line', testid: 'system-line' },
    `Server: ${num(sys.events_in)} events received since start, ${num(sys.parse_errors)} parse errors, up ${duration(sys.uptime_seconds)}, ${num(sys.tenants_loaded)} tenant(s) loaded. `,
    h('a', { href: '#/system' }, 'Models and rules'));

  replace(main, h('div', { class: 'page page-overview' },
    h('div', { class: 'page-head' },
      h('div', null, h('h1', { tabindex: '-1' }, 'Overview'), h('p', { class: 'muted' }, 'Alerts of your tenant, tallied by the server.')),
      h('button', { type: 'button', class: 'btn', testid: 'refresh', on: { click: () => ctx.navigate('/overview', { g }, { replace: true }) } }, 'Refresh')),
    kpis,
    statusLine,
    h('div', { class: 'grid grid-overview' },
      trendCard,
      feedCard,
      card('Top risky users', usersBody, { testid: 'top-users-card' }),
      card('Top anomaly types', typesBody, { testid: 'top-types-card' })),
    sysLine));

  // The trend, anchored at the newest alert so a quiet period still shows the last activity.
  try {
    const anchor = parseTime(newest.alerts && newest.alerts[0] && newest.alerts[0].timestamp) || new Date();
    const now = new Date();
    // A little past the anchor, so the newest alert is inside (the bounds are inclusive).
    const to = new Date((anchor > now || now - anchor > SPANS[g].ms / 4 ? anchor : now).getTime() + 60_000);
    const from = new Date(to.getTime() - SPANS[g].ms);
    const res = await api.get('v1/analytics/trends', { granularity: g, from: rfc3339(from), to: rfc3339(to) }, { signal });
    const buckets = res.buckets || [];
    if (!buckets.length) {
      replace(trendBody, empty(`No alerts in the ${SPANS[g].text} up to ${time(to, { seconds: false })} UTC.`));
      return;
    }
    const data = fillBuckets(buckets, g, from, to);
    const total = data.reduce((a, d) => a + d.total, 0);
    replace(trendBody,
      chartBox((w) => stackedBars({
        data, keys: LEVELS, cls: (k) => `seg-fill ${levelClass(k)}`, width: w, height: 230,
        label: `Alerts per ${g}, ${SPANS[g].text}, by level`,
        onSelect: g === 'week' ? null : (d) => ctx.navigate('/alerts', bucketRange(d.key, g)),
      }), { testid: 'trend-chart' }),
      h('div', { class: 'chart-foot' },
        legend([...LEVELS].reverse().map((l) => [`seg-fill ${levelClass(l)}`, humanize(l.toLowerCase())])),
        h('span', { class: 'muted small' }, `${num(total)} alerts, ${SPANS[g].text} to ${time(to, { seconds: false })} UTC${g === 'week' ? '' : ' · click a bar for its alerts'}`)));
  } catch (e) {
    if (api.isAbort(e)) return;
    replace(trendBody, errorBox(e));
  }
}
