// A user's learned baseline drawn for people: login-hour histogram, weekdays, usual
// locations on a world map, devices and resources, and the data-volume band. Shared by
// the alert page and the user page.

import {
  h, num, gb, time, humanize, card, facts, empty, notice, parseTime,
} from '../dom.js';
import { chartBox, histogram, worldMap, bandChart, legend } from '../charts.js';
import { evidenceOf, detectorOf, isFlowLine } from './evidence.js';

const HOURS = Array.from({ length: 24 }, (_, i) => String(i).padStart(2, '0'));
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function coords(a) {
  if (!a) return null;
  const rawLat = a.latitude ?? a.lat;
  const rawLon = a.longitude ?? a.lon;
  if (rawLat === null || rawLat === undefined || rawLon === null || rawLon === undefined) return null;
  const lat = Number(rawLat);
  const lon = Number(rawLon);
  return Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 ? { lat, lon } : null;
}

/** Whether an event is a user activity (canonical fields) rather than a raw log event. */
export function isActivity(e) {
  return !!(e && typeof e === 'object' && (typeof e.activity_type === 'string' || (typeof e.user_id === 'string' && typeof e.timestamp === 'string')));
}

/**
 * What raised an alert, from its evidence: `event` (the user activity that raised it) and
 * `context` (the same user's events before it, oldest first, as stored after the trigger);
 * or `logEvent`, the raw log event a detection rule matched (Sysmon, Security, ECS …). A
 * flow alert's trigger (the raw flow line) is neither: the evidence card shows it.
 */
export function eventsOf(alert) {
  const evidence = evidenceOf(alert);
  const trigger = evidence.find((e) => e.role === 'trigger');
  const raw = trigger && trigger.event && typeof trigger.event === 'object' && !Array.isArray(trigger.event) ? trigger.event : null;
  const kind = detectorOf(alert);
  // A rule's event is a log document whatever fields it has.
  const event = kind !== 'sigma' && isActivity(raw) ? raw : null;
  const logEvent = raw && !event && kind !== 'flow' && !isFlowLine(raw) ? raw : null;
  const context = evidence.filter((e) => e.role === 'context').map((e) => e.event).filter(isActivity);
  return { event, context, logEvent };
}

export function profileFacts(b, testid = 'baseline-facts') {
  return facts([
    ['Events learned', num(b.events)],
    ['Active days', num(b.active_days)],
    ['First seen', time(b.first_seen)],
    ['Last seen', time(b.last_seen)],
    ['Usual hours', b.usual_hours || 'not established'],
    ['Home time zone', typeof b.home_utc_offset_hours === 'number' ? `UTC${b.home_utc_offset_hours >= 0 ? '+' : ''}${b.home_utc_offset_hours}` : null],
    ['Known locations', `${num(b.known_locations)} in ${num(b.known_countries)} countr${b.known_countries === 1 ? 'y' : 'ies'}`],
    ['Known devices', num(b.known_devices)],
    ['Known browsers / agents', num(b.known_user_agents)],
    ['Known resources', num(b.known_resources)],
    ['Known networks', num(b.known_networks)],
  ], testid);
}

/** Login-hour histogram (UTC), with the alert's hour(s) highlighted. */
export function hoursCard(b, hot = [], hotLabel = 'this alert') {
  const values = Array.isArray(b.hours_utc) && b.hours_utc.length === 24 ? b.hours_utc : null;
  if (!values) return card('Activity by hour (UTC)', empty('No hourly profile yet.'), { testid: 'baseline-hours' });
  const hl = new Set(hot.filter((x) => Number.isInteger(x) && x >= 0 && x < 24));
  const total = values.reduce((a, v) => a + v, 0);
  const hotText = [...hl].sort((x, y) => x - y).map((i) => `${HOURS[i]}h`).join(', ');
  return card('Activity by hour (UTC)', h('div', null,
    chartBox((w) => histogram({
      values, labels: HOURS, width: w, height: 170, highlight: hl,
      label: `Learned events per UTC hour${hl.size ? `; ${hotLabel}: ${hotText}` : ''}`,
      titles: values.map((v, i) => `${HOURS[i]}:00–${HOURS[i]}:59 UTC: ${v} learned event${v === 1 ? '' : 's'} (${total ? Math.round((v / total) * 100) : 0}%)${hl.has(i) ? ` — ${hotLabel}` : ''}`),
    }), { testid: 'hours-chart' }),
    h('div', { class: 'chart-foot' },
      legend([['bar-fill', 'learned events'], ...(hl.size ? [['bar-hot', `${hotLabel} (${hotText})`]] : [])]),
      h('span', { class: 'muted small' }, b.usual_hours ? `usual: ${b.usual_hours}` : ''))), { testid: 'baseline-hours' });
}

export function weekdaysCard(b) {
  const values = Array.isArray(b.weekdays) && b.weekdays.length === 7 ? b.weekdays : null;
  if (!values) return null;
  return card('Activity by weekday (home time)', chartBox((w) => histogram({
    values, labels: WEEKDAYS, width: w, height: 150, label: 'Learned events per weekday',
  }), { testid: 'weekdays-chart' }), { testid: 'baseline-weekdays' });
}

/**
 * Usual locations and the alert's: home (most frequent location), the last known position,
 * any listed baseline locations, and the given activities (the alert's event in red).
 */
export function mapCard(b, { event = null, context = [], extra = [] } = {}) {
  const points = [];
  const lines = [];
  const home = Array.isArray(b && b.home) && b.home.length === 2 ? { lat: Number(b.home[0]), lon: Number(b.home[1]) } : null;
  const usual = Array.isArray(b && b.locations) ? b.locations : [];
  for (const l of usual) {
    const c = coords(l);
    if (c) points.push({ ...c, cls: 'map-usual', r: 4 + Math.min(6, Math.sqrt(Number(l.count) || 1)), label: `${l.location || l.name || 'usual location'}${l.count ? `: ${l.count} events` : ''}` });
  }
  if (home) points.push({ ...home, cls: 'map-home', r: 7, label: `Home (most frequent location): ${home.lat.toFixed(2)}, ${home.lon.toFixed(2)}` });
  const last = b && b.last_position ? coords(b.last_position) : null;
  if (last) points.push({ ...last, cls: 'map-last', r: 4.5, label: `Last learned position${b.last_position.location ? `: ${b.last_position.location}` : ''} at ${time(b.last_position.at)}` });
  for (const e of context) {
    const c = coords(e);
    if (c) points.push({ ...c, cls: 'map-context', r: 3.5, label: `${e.location || 'event'} — ${humanize(e.activity_type)} at ${time(e.timestamp)}` });
  }
  for (const p of extra) points.push(p);
  const ev = coords(event);
  if (ev) {
    const from = last || home;
    if (from && (Math.abs(from.lat - ev.lat) > 0.5 || Math.abs(from.lon - ev.lon) > 0.5)) {
      lines.push({ a: from, b: ev, cls: 'map-path', label: 'From the usual / last position to the alert\u2019s location' });
    }
    points.push({ ...ev, cls: 'map-alert', r: 6, label: `The alert: ${event.location || ''} (${ev.lat.toFixed(2)}, ${ev.lon.toFixed(2)})` });
  }
  const items = [['map-home', 'home'], ['map-last', 'last position']];
  if (usual.length) items.push(['map-usual', 'usual locations']);
  if (context.length) items.push(['map-context', 'recent events']);
  if (extra.length) items.push(['map-context', 'alert locations']);
  if (ev) items.push(['map-alert', 'this alert']);
  const names = [...new Set([
    ...usual.map((l) => l.location || l.name).filter(Boolean),
    b && b.last_position && b.last_position.location,
  ].filter(Boolean))];
  return card('Locations', h('div', null,
    points.length
      ? chartBox((w) => worldMap({ points, lines, width: w, label: 'Usual locations and the alert\u2019s location on a world map' }), { testid: 'map-chart', minWidth: 300 })
      : empty('No coordinates known for this user.'),
    h('div', { class: 'chart-foot' },
      legend(items),
      h('span', { class: 'muted small' }, names.length ? `Known: ${names.join(', ')}` : (b ? `${num(b.known_locations)} known location(s)` : ''))),
    event && event.location ? h('p', { class: 'small' }, 'This alert: ', h('strong', null, event.location), ev ? ` (${ev.lat.toFixed(2)}, ${ev.lon.toFixed(2)})` : '') : null),
  { testid: 'baseline-map' });
}

/** Data volume against the usual band (mean ± 2σ), with the alert's transfer marked. */
export function volumeCard(b, { event = null, context = [], extra = [] } = {}) {
  const v = b && b.volume_gb;
  if (!v || typeof v.mean !== 'number') return card('Data volume', empty('No volume profile yet.'), { testid: 'baseline-volume' });
  const points = [];
  for (const e of context) {
    const x = Number(e.data_transferred_gb);
    if (Number.isFinite(x)) points.push({ t: parseTime(e.timestamp), v: x, cls: 'dot', label: `${gb(x)} — ${humanize(e.activity_type)} ${e.resource_accessed || ''} at ${time(e.timestamp)}` });
  }
  for (const p of extra) points.push(p);
  const ev = event ? Number(event.data_transferred_gb) : NaN;
  if (Number.isFinite(ev)) points.push({ t: parseTime(event.timestamp), v: ev, cls: 'dot-hot', label: `This alert: ${gb(ev)} at ${time(event.timestamp)}` });
  const hi = v.mean + 2 * (v.std || 0);
  return card('Data volume per event', h('div', null,
    chartBox((w) => bandChart({
      mean: v.mean, std: v.std || 0, points,
      width: w, height: 190, format: (x) => (x === 0 ? '0' : gb(x)),
      label: `Data transferred per event against the user's usual range; mean ${gb(v.mean)}`,
    }), { testid: 'volume-chart' }),
    h('div', { class: 'chart-foot' },
      legend([['band-outer', 'usual (mean ± 2σ)'], ['band-mean', 'mean'], ...(context.length || extra.length ? [['dot', 'events']] : []), ...(Number.isFinite(ev) ? [['dot-hot', 'this alert']] : [])]),
      h('span', { class: 'muted small' }, `mean ${gb(v.mean)}, σ ${gb(v.std || 0)}, usual up to ${gb(hi)} over ${num(v.n)} events`)),
    Number.isFinite(ev) ? h('p', { class: 'small' }, 'This alert moved ', h('strong', null, gb(ev)),
      hi > 0 ? ` — ${ev > hi ? `${(ev / Math.max(v.mean, 1e-9)).toFixed(ev / Math.max(v.mean, 1e-9) >= 10 ? 0 : 1)}× the mean, above the usual range` : 'within the usual range'}.` : '.') : null),
  { testid: 'baseline-volume' });
}

/** Devices and resources: what the baseline knows, and what the alert used. */
export function devicesCard(b, { event = null, anomalies = [] } = {}) {
  const types = new Set(anomalies);
  const listOf = (key) => (Array.isArray(b && b[key]) ? b[key] : null);
  const devices = listOf('devices');
  const resources = listOf('resources');
  const row = (label, known, list, current, isNew, testid) => h('div', { class: 'kv-block', testid },
    h('h3', null, label),
    h('p', null, h('strong', null, num(known)), ` known`),
    list && list.length ? h('ul', { class: 'tag-list' }, list.slice(0, 24).map((d) => h('li', { class: 'chip' }, typeof d === 'string' ? d : `${d.name || d.resource || d.device || '?'}${d.count ? ` · ${d.count}` : ''}`))) : null,
    current ? h('p', { class: 'small' }, 'This alert: ', h('strong', null, current), isNew ? h('span', { class: 'badge badge-flag' }, 'new for this user') : null) : null);
  const device = event ? [event.device_name, event.device_fingerprint ? `(${String(event.device_fingerprint).slice(0, 8)}…)` : null].filter(Boolean).join(' ') : null;
  return card('Devices and resources', h('div', { class: 'kv-grid' },
    row('Devices', b && b.known_devices, devices, device, types.has('new_device'), 'baseline-devices'),
    row('Resources', b && b.known_resources, resources, event && event.resource_accessed, types.has('unusual_resources'), 'baseline-resources'),
    row('Browsers / agents', b && b.known_user_agents, listOf('user_agents'), event && event.user_agent, false, 'baseline-agents'),
    row('Networks', b && b.known_networks, listOf('networks'), event && event.ip_address, false, 'baseline-networks')),
  { testid: 'baseline-devices-card' });
}

export function baselineNote(b) {
  if (!b) return notice('No baseline is held for this user (the engine has not learned from their events in this server\u2019s lifetime).', 'warn', 'no-baseline');
  return null;
}
