// One user (entity): the learned baseline drawn, risk by day, and recent alerts.

import * as api from '../api.js';
import {
  h, replace, num, score, time, humanize, levelBadge, statusBadge, loading, empty, errorBox, card,
  tableWrap, parseTime, gb, levelClass, levelOfScore, LEVELS, day,
} from '../dom.js';
import { chartBox, stackedBars } from '../charts.js';
import { eventsOf, hoursCard, weekdaysCard, mapCard, volumeCard, devicesCard, profileFacts, baselineNote } from './baseline.js';

function recentTable(alerts) {
  return tableWrap(h('table', { class: 'table compact rows-narrow', testid: 'user-alerts' },
    h('thead', null, h('tr', null, ['ID', 'Time (UTC)', 'Level', 'Score', 'Anomalies', 'Status'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, alerts.map((a) => h('tr', { testid: 'user-alert-row' },
      h('td', { class: 'num' }, h('a', { href: `#/alerts/${a.id}` }, `#${a.id}`)),
      h('td', { class: 'nowrap' }, time(a.timestamp)),
      h('td', null, levelBadge(a.threat_level)),
      h('td', { class: 'num' }, score(a.threat_score)),
      h('td', null, (a.primary_anomalies || []).map(humanize).join(', ')),
      h('td', null, statusBadge(a.status)))))), 'Recent alerts of this user');
}

/** Each day from the first to the last with alerts (gaps filled when under 120 days). */
function riskDays(trend) {
  const byDay = new Map(trend.map((d) => [d.day, d]));
  const first = parseTime(`${trend[0].day}T00:00:00Z`);
  const last = parseTime(`${trend[trend.length - 1].day}T00:00:00Z`);
  const days = [];
  if (first && last && (last - first) / 86_400_000 < 120) {
    for (let t = first.getTime(); t <= last.getTime(); t += 86_400_000) days.push(day(new Date(t)));
  } else {
    days.push(...byDay.keys());
  }
  return days.map((d) => {
    const x = byDay.get(d);
    const v = x ? x.max_score : 0;
    return {
      label: d.slice(5),
      parts: x ? { [levelOfScore(v)]: v } : {},
      title: x ? `${d}: ${x.alerts} alert(s), highest score ${score(v)}` : `${d}: no alert`,
    };
  });
}

export async function render(main, ctx) {
  const name = ctx.params[0];
  const { signal } = ctx;
  replace(main, h('div', { class: 'page' }, h('h1', { tabindex: '-1' }, name), loading()));
  let res;
  try {
    res = await api.post('v1/analyze/behavior', { user_id: name }, { signal });
  } catch (e) {
    if (api.isAbort(e)) throw e;
    replace(main, h('div', { class: 'page' },
      h('p', { class: 'crumbs' }, h('a', { href: '#/overview' }, '← Overview')),
      h('h1', { tabindex: '-1' }, name),
      e.status === 404 ? empty('This user is unknown: no baseline and no alert.', 'User ids are exact (case-sensitive).') : errorBox(e, () => ctx.retry())));
    return;
  }
  const b = res.baseline;
  const recent = res.recent_alerts || [];
  const trend = (res.risk_trend || []).filter((d) => parseTime(d.day));

  // Where and what the alerts' own events were, when the server includes them.
  const extraMap = [];
  const extraVolume = [];
  const hours = new Set();
  for (const a of recent) {
    const t = parseTime(a.timestamp);
    if (t) hours.add(t.getUTCHours());
    const { event } = eventsOf(a);
    if (!event) continue;
    const lat = Number(event.latitude);
    const lon = Number(event.longitude);
    if (event.latitude !== null && event.latitude !== undefined && Number.isFinite(lat) && Number.isFinite(lon)) {
      extraMap.push({ lat, lon, cls: `map-alert-small ${levelClass(a.threat_level)}`, r: 4.5, label: `#${a.id} ${a.threat_level}: ${event.location || ''} at ${time(a.timestamp)}` });
    }
    const v = Number(event.data_transferred_gb);
    if (event.data_transferred_gb !== null && event.data_transferred_gb !== undefined && Number.isFinite(v)) {
      extraVolume.push({ t: parseTime(event.timestamp), v, cls: 'dot-hot', label: `#${a.id}: ${gb(v)} at ${time(event.timestamp)}` });
    }
  }
  const maxScore = recent.reduce((m, a) => Math.max(m, a.threat_score || 0), 0);
  const alertsInTrend = trend.reduce((n, d) => n + (d.alerts || 0), 0);

  replace(main, h('div', { class: 'page page-user' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/overview' }, '← Overview')),
    h('div', { class: 'page-head' },
      h('div', null,
        h('h1', { tabindex: '-1', testid: 'user-title' }, res.user_id || name),
        h('p', { class: 'muted' }, b ? `Baseline of ${num(b.events)} events over ${num(b.active_days)} active days, ${time(b.first_seen, { seconds: false })} to ${time(b.last_seen, { seconds: false })} UTC.` : 'No baseline held for this user.')),
      h('div', { class: 'head-actions' },
        h('a', { class: 'btn', href: ctx.hashOf('/alerts', { user: res.user_id || name }), testid: 'user-all-alerts' }, 'All alerts of this user'))),
    h('div', { class: 'kpis kpis-small' },
      h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, 'Recent alerts'), h('span', { class: 'kpi-value', testid: 'user-alert-count' }, num(alertsInTrend)), h('span', { class: 'kpi-sub' }, 'latest 200 at most')),
      h('div', { class: ['kpi', levelClass(recent[0] && recent[0].threat_level)] }, h('span', { class: 'kpi-label' }, 'Highest score'), h('span', { class: 'kpi-value' }, recent.length ? score(maxScore) : '—'), h('span', { class: 'kpi-sub' }, 'of the latest alerts')),
      h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, 'Open'), h('span', { class: 'kpi-value' }, num(recent.filter((a) => a.status === 'new').length)), h('span', { class: 'kpi-sub' }, `of the latest ${recent.length}`))),
    baselineNote(b),
    h('div', { class: 'grid grid-2 baseline-grid', testid: 'baseline' },
      b ? hoursCard(b, [...hours], 'hours of recent alerts') : null,
      mapCard(b, { extra: extraMap }),
      b ? weekdaysCard(b) : null,
      b ? volumeCard(b, { extra: extraVolume }) : null,
      devicesCard(b, {}),
      b ? card('Profile', profileFacts(b), { testid: 'baseline-profile' }) : null,
      card('Risk by day', trend.length
        ? chartBox((w) => stackedBars({
          data: riskDays(trend), keys: LEVELS, cls: (k) => `seg-fill ${levelClass(k)}`, width: w, height: 180,
          label: 'Highest alert score per day',
        }), { testid: 'risk-chart' })
        : empty('No alerts, no risk recorded.'), { testid: 'risk-trend', className: 'span-2' }),
      card(`Recent alerts (${recent.length})`, recent.length ? recentTable(recent) : empty('No alerts for this user.'), { testid: 'user-recent', className: 'span-2' }))));
}
