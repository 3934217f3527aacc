// Models and rules: which models are active (version, metrics, drift, circuit breaker),
// which detection rules are loaded and which were skipped and why; the server's state.

import * as api from '../api.js';
import {
  h, replace, num, time, humanize, loading, empty, errorBox, card, tableWrap, notice, duration,
  levelBadge, levelClass, LEVELS,
} from '../dom.js';

const RULES_PAGE = 50;

function unavailable(what, testid) {
  return notice(`${what} are not available from this server (it does not have this API).`, 'info', testid);
}

/** A file path shown by its name, the whole path on hover. */
function fileName(p, cls = 'mono small') {
  if (!p) return h('span', { class: 'muted' }, '—');
  const s = String(p);
  const base = s.split(/[\\/]/).pop() || s;
  return h('span', { class: cls, title: s }, base);
}

/** A skip reason without the file path it repeats ("/x/y.yml:line 5: …" → "line 5: …"). */
function reasonOf(r) {
  let text = String(r.reason || '');
  if (r.file && text.startsWith(`${r.file}:`)) text = text.slice(r.file.length + 1).trim();
  if (r.rule_id) text = text.replace(new RegExp(`^(line \\d+: )?rule ${r.rule_id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `), '$1');
  return text || '—';
}

const SLOT_TEXT = {
  isolation_forest: 'activity ensemble',
  sequence: 'activity ensemble',
  trees: 'activity ensemble',
  network: 'POST /v1/monitor/network',
};

const ACRONYMS = new Set(['auc', 'roc', 'pr', 'psi', 'f1', 'ks', 'mse', 'id', 'ewma']);

/** "roc_auc" → "ROC AUC". */
function label(k) {
  return String(k).split('_').map((w, i) => (ACRONYMS.has(w.toLowerCase()) ? w.toUpperCase() : i ? w : w.charAt(0).toUpperCase() + w.slice(1))).join(' ');
}

function value(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return Number.isInteger(v) ? num(v) : String(+v.toFixed(4));
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (Array.isArray(v)) return v.map(value).join(', ');
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => `${label(k)}: ${value(x)}`).join('; ');
  return String(v);
}

function kvList(obj, testid) {
  if (!obj || typeof obj !== 'object' || !Object.keys(obj).length) return h('span', { class: 'muted' }, '—');
  return h('dl', { class: 'mini-kv', testid }, Object.entries(obj).map(([k, v]) => [h('dt', null, label(k)), h('dd', null, value(v))]));
}

function driftBadge(drift) {
  const st = (drift && drift.status) || 'unknown';
  const cls = st === 'stable' ? 'ok' : st === 'drifting' ? 'warn' : 'neutral';
  const rest = drift ? Object.fromEntries(Object.entries(drift).filter(([k]) => k !== 'status')) : {};
  return h('div', null, h('span', { class: ['badge', `badge-${cls}`], testid: 'model-drift' }, humanize(st)), Object.keys(rest).length ? kvList(rest) : null);
}

function circuitBadge(c) {
  if (!c) return h('span', { class: 'muted' }, '—');
  const st = c.state || 'unknown';
  const cls = st === 'closed' ? 'ok' : st === 'open' ? 'bad' : 'warn';
  return h('div', null,
    h('span', { class: ['badge', `badge-${cls}`], title: 'Circuit breaker: closed means calls go through' }, humanize(st)),
    h('span', { class: 'muted small block' }, `${num(c.calls)} calls · ${num(c.failures)} failures · ${num(c.trips)} trips`));
}

/** Training figures worth a glance, best known first; nested tables (confusion) left out. */
const METRIC_ORDER = ['roc_auc', 'pr_auc', 'f1', 'precision', 'recall', 'accuracy', 'threshold', 'rows', 'attacks'];

function metricsOf(m) {
  if (!m || typeof m !== 'object') return null;
  const keys = Object.keys(m).filter((k) => m[k] !== null && typeof m[k] !== 'object');
  keys.sort((x, y) => {
    const a = METRIC_ORDER.indexOf(x);
    const b = METRIC_ORDER.indexOf(y);
    return (a < 0 ? 99 : a) - (b < 0 ? 99 : b) || x.localeCompare(y);
  });
  return Object.fromEntries(keys.slice(0, 7).map((k) => [k, m[k]]));
}

/** A model of GET /v1/models, whichever of the known shapes it has. */
function modelRow(m, withCircuit) {
  const reg = m.registry && typeof m.registry === 'object' ? m.registry : null;
  const version = reg && reg.version !== undefined ? reg.version : m.version;
  const trained = m.trained && typeof m.trained === 'object' ? m.trained : null;
  const trainedAt = (trained && trained.created) || m.trained_at;
  const metrics = metricsOf(m.metrics);
  const name = m.label || m.name || (reg && reg.name) || '—';
  return h('tr', { testid: 'model-row', 'data-slot': m.slot || '' },
    h('td', null, h('div', { class: 'strong' }, m.slot || '—'), SLOT_TEXT[m.slot] ? h('span', { class: 'muted small' }, SLOT_TEXT[m.slot]) : null),
    h('td', null,
      h('div', { testid: 'model-name', class: 'nowrap' }, /[\\/]/.test(name) ? fileName(name, 'strong') : name),
      h('span', { class: 'muted small' }, [m.kind, m.format, m.features ? `${m.features} features` : null].filter(Boolean).join(' · '))),
    h('td', { class: 'mono' }, version === undefined || version === null ? '—' : String(version)),
    h('td', { class: 'source-cell' },
      m.source && !String(m.source).startsWith('registry:')
        ? [h('div', null, 'file'), h('span', { class: 'muted small mono path' }, String(m.source))]
        : h('div', null, m.source || '—'),
      reg && reg.name ? h('span', { class: 'muted small block' }, `registry: ${reg.name}`) : null),
    h('td', null,
      h('div', { class: 'nowrap' }, trainedAt ? time(trainedAt, { seconds: false }) : '—'),
      trained && (trained.rows || trained.input) ? h('span', { class: 'muted small' }, [trained.rows ? `${num(trained.rows)} rows` : null, trained.input].filter(Boolean).join(' · ')) : null),
    h('td', null, metrics && Object.keys(metrics).length ? kvList(metrics) : h('span', { class: 'muted' }, 'none recorded')),
    h('td', null, driftBadge(m.drift)),
    withCircuit ? h('td', null, circuitBadge(m.circuit)) : null);
}

async function modelsSection(ctx, box) {
  try {
    const res = await api.get('v1/models', null, { signal: ctx.signal });
    const models = res.models || [];
    const ensemble = res.ensemble;
    const withCircuit = models.some((m) => m.circuit);
    const heads = ['Slot', 'Model', 'Version', 'Source', 'Trained (UTC)', 'Training figures', 'Drift', ...(withCircuit ? ['Circuit'] : [])];
    replace(box,
      models.length ? tableWrap(h('table', { class: 'table compact rows-narrow', testid: 'models-table' },
        h('thead', null, h('tr', null, heads.map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, models.map((m) => modelRow(m, withCircuit)))), 'Models')
        : empty('No model is active.', 'Scores come from the behavioural baseline and rules only.'),
      ensemble && typeof ensemble === 'object' ? h('div', { class: 'ensemble' }, h('h3', null, 'Ensemble'), kvList(ensemble, 'ensemble')) : null,
      typeof res.reload_secs === 'number' ? h('p', { class: 'muted small' }, res.reload_secs > 0 ? `The registry is checked for new versions every ${duration(res.reload_secs)}.` : 'Models are not reloaded while the server runs.') : null);
  } catch (e) {
    if (api.isAbort(e)) return;
    if (e.status === 404) replace(box, unavailable('Model details', 'models-unavailable'));
    else if (e.status === 503) replace(box, notice(`No models on this server: ${e.message}.`, 'info', 'models-unconfigured'));
    else replace(box, errorBox(e));
  }
}

function logsourceOf(ls) {
  if (!ls || typeof ls !== 'object') return '—';
  return [ls.product, ls.category, ls.service].filter(Boolean).join(' / ') || '—';
}

async function rulesSection(ctx, box) {
  const q = ctx.query.get('q') || '';
  const offset = Math.max(0, Number(ctx.query.get('offset')) || 0);
  try {
    const res = await api.get('v1/rules', { q, limit: RULES_PAGE, offset }, { signal: ctx.signal });
    const rules = res.rules || [];
    const skipped = res.skipped || [];
    const byLevel = res.by_level || {};
    const total = typeof res.total === 'number' ? res.total : rules.length;
    const search = h('input', { id: 'rule-q', type: 'search', name: 'q', value: q, placeholder: 'title, id, tag or file', testid: 'rules-search', autocomplete: 'off' });
    const form = h('form', { class: 'inline-form', method: 'get', role: 'search' },
      h('label', { for: 'rule-q' }, 'Search rules'), search, h('button', { type: 'submit', class: 'btn' }, 'Search'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      ctx.navigate('/system', { q: search.value.trim() });
    });
    const levelKeys = Object.keys(byLevel).sort((a, b) => LEVELS.indexOf(b.toUpperCase()) - LEVELS.indexOf(a.toUpperCase()));
    const pager = total > RULES_PAGE ? h('nav', { class: 'pager', 'aria-label': 'Rule pages' },
      h('button', { type: 'button', class: 'btn', disabled: offset === 0, on: { click: () => ctx.navigate('/system', { q, offset: Math.max(0, offset - RULES_PAGE) || null }) } }, '‹ Previous'),
      h('span', { class: 'pager-info' }, `${num(offset + 1)}–${num(Math.min(total, offset + rules.length))} of ${num(total)}`),
      h('button', { type: 'button', class: 'btn', disabled: offset + RULES_PAGE >= total, on: { click: () => ctx.navigate('/system', { q, offset: offset + RULES_PAGE }) } }, 'Next ›')) : null;
    replace(box,
      h('div', { class: 'kpis kpis-small' },
        h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, 'Loaded'), h('span', { class: 'kpi-value', testid: 'rules-loaded' }, num(res.loaded))),
        h('div', { class: ['kpi', skipped.length ? 'kpi-warn' : null] }, h('span', { class: 'kpi-label' }, 'Skipped'), h('span', { class: 'kpi-value', testid: 'rules-skipped' }, num(skipped.length))),
        typeof res.correlations === 'number' ? h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, 'Correlations'), h('span', { class: 'kpi-value' }, num(res.correlations))) : null,
        typeof res.files === 'number' ? h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, 'Files'), h('span', { class: 'kpi-value' }, num(res.files))) : null,
        levelKeys.map((l) => h('div', { class: ['kpi', levelClass(l)] }, h('span', { class: 'kpi-label' }, humanize(l.toLowerCase())), h('span', { class: 'kpi-value' }, num(byLevel[l]))))),
      h('h3', { class: 'subhead' }, `Skipped (${num(skipped.length)})`),
      skipped.length ? tableWrap(h('table', { class: 'table compact rows-narrow', testid: 'skipped-table' },
        h('thead', null, h('tr', null, ['File', 'Rule', 'Reason'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, skipped.map((r) => h('tr', { testid: 'skipped-row' },
          h('td', null, fileName(r.file)),
          h('td', null, h('div', null, r.title || h('span', { class: 'muted' }, 'untitled')), h('span', { class: 'muted small mono' }, r.rule_id || '')),
          h('td', { testid: 'skipped-reason' }, reasonOf(r)))))), 'Skipped rules')
        : h('p', { class: 'muted' }, 'Every rule file was loaded.'),
      h('h3', { class: 'subhead' }, `Loaded rules (${num(total)}${q ? ` matching “${q}”` : ''})`),
      res.loaded_at ? h('p', { class: 'muted small' }, `Loaded ${time(res.loaded_at)} UTC.`) : null,
      form,
      rules.length ? tableWrap(h('table', { class: 'table compact rows-narrow', testid: 'rules-table' },
        h('thead', null, h('tr', null, ['Rule', 'Level', 'Log source', 'File', 'Tags'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, rules.map((r) => h('tr', { testid: 'rule-row' },
          h('td', null,
            h('div', { class: 'strong' }, r.title || r.id),
            h('span', { class: 'muted small mono' }, r.id || ''),
            r.correlation ? h('span', { class: 'chip chip-small' }, 'correlation') : null,
            r.status ? h('span', { class: 'chip chip-small' }, r.status) : null),
          h('td', null, r.level ? levelBadge(String(r.level).toUpperCase()) : '—'),
          h('td', { class: 'small' }, logsourceOf(r.logsource)),
          h('td', null, fileName(r.file)),
          h('td', null, (r.tags || []).length ? h('ul', { class: 'tag-list' }, r.tags.slice(0, 8).map((t) => h('li', { class: 'chip' }, t))) : '—'))))), 'Rules')
        : empty(q ? `No rule matches “${q}”.` : 'No rule loaded.'),
      pager);
  } catch (e) {
    if (api.isAbort(e)) return;
    if (e.status === 404) replace(box, unavailable('Detection rules', 'rules-unavailable'));
    else if (e.status === 503) replace(box, notice(`No detection rules on this server: ${e.message}.`, 'info', 'rules-unconfigured'));
    else replace(box, errorBox(e));
  }
}

async function serverSection(ctx, box) {
  try {
    const [dash, ready, doc] = await Promise.all([
      api.get('v1/analytics/dashboard', null, { signal: ctx.signal }),
      fetch(api.apiUrl('readyz'), { signal: ctx.signal, cache: 'no-store', credentials: 'omit' }).then((r) => r.json().catch(() => ({ status: `HTTP ${r.status}` }))),
      fetch(api.apiUrl('v1/openapi.json'), { signal: ctx.signal, cache: 'no-store', credentials: 'omit' }).then((r) => (r.ok ? r.json() : null)).catch(() => null),
    ]);
    const sys = dash.system || {};
    const item = (label, v, sub) => h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, label), h('span', { class: 'kpi-value kpi-value-small' }, v), sub ? h('span', { class: 'kpi-sub' }, sub) : null);
    replace(box, h('div', { class: 'kpis', testid: 'server-facts' },
      item('Server', h('span', { class: ['badge', ready.status === 'ready' ? 'badge-ok' : 'badge-bad'], testid: 'readiness' }, ready.status || 'unknown'), doc && doc.info ? `version ${doc.info.version}` : null),
      item('Uptime', duration(sys.uptime_seconds)),
      item('Events received', num(sys.events_in), 'since start'),
      item('Parse errors', num(sys.parse_errors)),
      item('Tenants loaded', num(sys.tenants_loaded))));
  } catch (e) {
    if (api.isAbort(e)) return;
    replace(box, errorBox(e));
  }
}

export async function render(main, ctx) {
  const models = h('div', null, loading('Loading models…'));
  const rules = h('div', null, loading('Loading rules…'));
  const server = h('div', null, loading());
  replace(main, h('div', { class: 'page page-system' },
    h('div', { class: 'page-head' }, h('div', null,
      h('h1', { tabindex: '-1' }, 'Models and rules'),
      h('p', { class: 'muted' }, 'What scores your events: the active models and the detection rules.'))),
    h('div', { class: 'grid grid-1 system-grid' },
      h('section', { class: 'server-strip', testid: 'server', 'aria-label': 'Server' }, server),
      card('Models', models, { testid: 'models' }),
      card('Detection rules', rules, { testid: 'rules' }))));
  await Promise.all([modelsSection(ctx, models), rulesSection(ctx, rules), serverSection(ctx, server)]);
}
