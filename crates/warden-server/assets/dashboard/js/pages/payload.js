// Payload analysis: a form to analyse a command line or script (at once, or as a job with
// a sandboxed run), a job's page that follows it until its verdict is in, and the verdict:
// score and action, each view, the model's reasons, the decoded layers, the patterns with
// their ATT&CK ids and, after a sandboxed run, what the script did (its findings,
// processes, files, connections).
// Also the card an alert raised by payload analysis shows (`detail.payload`).

import * as api from '../api.js';
import {
  h, replace, score, time, humanize, levelBadge, levelClass, loading, empty, errorBox, card,
  facts, tableWrap, notice, toast,
} from '../dom.js';
import { meter } from '../charts.js';

const SHELLS = ['sh', 'bash', 'cmd', 'powershell'];
/** How often a job that is not done is asked for again. */
const POLL_MS = 1000;

const num1 = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(1) : '—');
const list = (x) => (Array.isArray(x) ? x : []);
const obj = (x) => (x && typeof x === 'object' && !Array.isArray(x) ? x : null);

function actionBadge(action) {
  const cls = action === 'BLOCK' ? 'badge-bad' : action === 'QUARANTINE' ? 'badge-warn' : 'badge-ok';
  return h('span', { class: ['badge', cls], testid: 'verdict-action' }, String(action || '—'));
}

function viewRow(label, value, testid) {
  if (typeof value !== 'number') return [label, h('span', { class: 'muted', testid }, 'did not run')];
  return [label, h('span', { class: 'nowrap', testid },
    meter(value, 100, 'meter-fill meter-accent', 96, `${label} ${num1(value)} of 100`), ' ', num1(value))];
}

function summaryCard(v) {
  const views = obj(v.views) || {};
  return card('Verdict', h('div', { class: ['score-panel', levelClass(v.level)] },
    h('div', { class: 'score-big' },
      h('span', { class: 'score-value', testid: 'verdict-score' }, score(v.score)),
      h('span', { class: 'score-max' }, '/ 100')),
    h('div', { class: 'score-meta' }, levelBadge(v.level, 'verdict-level'), actionBadge(v.action),
      h('span', { class: 'muted' }, `shell ${v.shell || '—'}`)),
    facts([
      viewRow('Model', views.model, 'view-model'),
      viewRow('Sandbox', views.dynamic, 'view-dynamic'),
      viewRow('Signatures', views.signatures, 'view-signatures'),
    ], 'verdict-views'),
    typeof v.alert_id === 'number'
      ? h('p', null, 'Raised ', h('a', { href: `#/alerts/${v.alert_id}`, testid: 'verdict-alert' }, `alert #${v.alert_id}`), '.')
      : null), { testid: 'verdict-summary' });
}

function explanationCard(v) {
  const attack = list(v.attack);
  const notes = list(v.notes);
  return card('Explanation', h('div', null,
    h('p', { class: 'explanation', testid: 'verdict-explanation' }, v.explanation || '—'),
    attack.length ? h('ul', { class: 'tag-list', testid: 'verdict-attack' }, attack.map((t) => h('li', null, h('span', { class: 'chip mono' }, String(t))))) : null,
    notes.length ? h('ul', { class: 'notes', testid: 'verdict-notes' }, notes.map((n) => h('li', { class: 'muted small' }, String(n)))) : null),
  { testid: 'verdict-explanation-card', className: 'span-2' });
}

const percent = (x) => (typeof x === 'number' && Number.isFinite(x) ? `${Math.round(x * 100)}%` : '—');
const num3 = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : '—');

/** The learned view's reasons: its probability (and the n-gram model's own, when a combiner
 * weighed it with the analysis), the combiner's inputs and the features each way. */
function modelCard(v) {
  const m = obj(v.model);
  if (!m) return null;
  const shares = (xs, testid, label) => simpleTable(testid, label, ['Feature', 'Share'],
    list(xs).filter(obj).map((c) => [String(c.feature ?? ''), num3(c.weight)]));
  const combined = list(m.combined_from).filter(obj);
  return card('Model', h('div', null,
    facts([
      ['Probability', percent(m.probability), 'model-probability'],
      typeof m.text_probability === 'number' ? ['The text alone', percent(m.text_probability), 'model-text-probability'] : null,
    ], 'model-facts'),
    combined.length ? [h('h3', null, 'Weighed with'), shares(combined, 'model-combined', 'Inputs')] : null,
    h('h3', null, 'Raised by'), shares(m.raised_by, 'model-raised', 'Features'),
    h('h3', null, 'Lowered by'), shares(m.lowered_by, 'model-lowered', 'Features')),
  { testid: 'verdict-model-card' });
}

function layersCard(v) {
  const layers = list(v.layers).filter(obj);
  return card(`Decoded layers (${layers.length})`, h('ol', { class: 'layers', testid: 'verdict-layers' },
    layers.map((l, i) => h('li', { testid: 'verdict-layer' },
      h('div', { class: 'small muted' }, i === 0 ? 'as submitted' : humanize(String(l.decoder || ''))),
      h('pre', { class: 'code-block' }, String(l.text ?? ''))))), { testid: 'verdict-layers-card', className: 'span-2' });
}

function patternsTable(rows, testid, { layer = true } = {}) {
  if (!rows.length) return empty('None found.');
  return tableWrap(h('table', { class: 'table compact rows-narrow', testid },
    h('thead', null, h('tr', null, ['Pattern', 'ATT&CK', 'Weight', 'Evidence', layer ? 'Layer' : null].filter(Boolean).map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((p) => h('tr', { 'data-pattern': String(p.id || '') },
      h('td', { class: 'strong' }, String(p.name || p.id || '')),
      h('td', { class: 'mono small' }, list(p.attack).join(', ')),
      h('td', { class: 'num' }, num1((p.weight || 0) * 100)),
      h('td', { class: 'mono small wrap' }, String(p.evidence || '')),
      layer ? h('td', { class: 'num' }, String(p.layer ?? '')) : null)))), 'Patterns');
}

function patternsCard(v) {
  const rows = list(v.patterns).filter(obj).sort((a, b) => (b.weight || 0) - (a.weight || 0));
  return card(`Patterns (${rows.length})`, patternsTable(rows, 'verdict-patterns'), { testid: 'verdict-patterns-card', className: 'span-2' });
}

function simpleTable(testid, label, heads, rows) {
  if (!rows.length) return h('p', { class: 'muted small' }, `No ${label.toLowerCase()}.`);
  return tableWrap(h('table', { class: 'table compact rows-narrow', testid },
    h('thead', null, h('tr', null, heads.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', { class: 'mono small wrap' }, c ?? '—')))))), label);
}

function traceCard(t) {
  const b = obj(t.behaviour) || {};
  const findings = list(t.findings).filter(obj).sort((x, y) => (y.weight || 0) - (x.weight || 0));
  return card('Sandbox run', h('div', null,
    facts([
      ['Score', num1(t.score), 'trace-score'],
      ['Interpreter', b.interpreter],
      ['Ended', b.exit, 'trace-exit'],
      ['Duration', typeof b.duration_ms === 'number' ? `${b.duration_ms} ms` : null],
      ['Limits reached', list(b.limits_hit).join('; ') || 'none', 'trace-limits'],
    ], 'trace-facts'),
    h('h3', null, 'What it did'),
    patternsTable(findings, 'trace-findings', { layer: false }),
    h('h3', null, 'Processes'),
    simpleTable('trace-processes', 'Processes', ['PID', 'Parent', 'Command line'],
      list(b.processes).filter(obj).map((p) => [String(p.pid), p.parent == null ? '—' : String(p.parent), list(p.argv).join(' ')])),
    h('h3', null, 'Files'),
    simpleTable('trace-files', 'Files', ['PID', 'Operation', 'Path', 'Refused'],
      list(b.files).filter(obj).map((f) => [String(f.pid), String(f.op), f.to ? `${f.path} → ${f.to}` : String(f.path), f.error || ''])),
    h('h3', null, 'Connections (blocked)'),
    simpleTable('trace-connections', 'Connections', ['PID', 'Program', 'Call', 'Destination', 'Error'],
      list(b.connections).filter(obj).map((c) => [String(c.pid), String(c.program || ''), String(c.call), c.family === 'unix' ? String(c.address) : `${c.address}:${c.port}`, c.error || ''])),
    list(b.privilege).length ? [h('h3', null, 'Privilege changes'),
      simpleTable('trace-privilege', 'Privilege changes', ['PID', 'Call', 'Detail', 'Refused'],
        list(b.privilege).filter(obj).map((p) => [String(p.pid), String(p.call), String(p.detail), p.error || '']))] : null,
    list(b.memory).some((m) => list(m.wx_regions).length) ? [h('h3', null, 'Writable and executable memory'),
      simpleTable('trace-memory', 'Memory', ['PID', 'Program', 'Region'],
        list(b.memory).flatMap((m) => list(m.wx_regions).map((r) => [String(m.pid), String(m.program), String(r)])))] : null,
    b.stdout ? [h('h3', null, 'Output'), h('pre', { class: 'code-block', testid: 'trace-stdout' }, String(b.stdout))] : null,
    b.stderr ? [h('h3', null, 'Errors'), h('pre', { class: 'code-block' }, String(b.stderr))] : null),
  { testid: 'trace-card', className: 'span-2' });
}

/** The cards of a verdict. */
export function verdictCards(v) {
  return [summaryCard(v), explanationCard(v), modelCard(v), layersCard(v), patternsCard(v), obj(v.trace) ? traceCard(v.trace) : null];
}

/** What an alert raised by payload analysis holds (`detail.payload`). */
export function payloadCard(p) {
  return card('Command line', h('div', null,
    facts([
      ['Shell', p.shell],
      ['Action', actionBadge(p.action)],
      viewRow('Model', p.model, 'alert-view-model'),
      viewRow('Sandbox', p.dynamic, 'alert-view-dynamic'),
      viewRow('Signatures', p.signatures, 'alert-view-signatures'),
      ['Decoded by', list(p.decoders).map(humanize).join(' → ') || 'nothing to decode'],
      typeof p.job === 'number' ? ['Job', h('a', { href: `#/payload/jobs/${p.job}`, testid: 'payload-job-link' }, `#${p.job} (layers, patterns, sandbox run)`)] : null,
    ], 'payload-facts'),
    h('div', { class: 'small muted' }, 'As submitted'),
    h('pre', { class: 'code-block', testid: 'payload-text' }, String(p.text ?? '')),
    p.decoded ? [h('div', { class: 'small muted' }, 'Decoded'), h('pre', { class: 'code-block', testid: 'payload-decoded' }, String(p.decoded))] : null),
  { testid: 'payload-card', className: 'span-2' });
}

/** `#/payload`: the form, and the verdict of a text analysed at once. */
export async function render(main, ctx) {
  const out = h('div', { class: 'grid grid-2', testid: 'verdict' });
  const text = h('textarea', { id: 'payload-text', rows: '6', class: 'mono', testid: 'payload-input', spellcheck: 'false', placeholder: "powershell -enc …, curl … | sh, a script…" });
  const shell = h('select', { id: 'payload-shell', testid: 'payload-shell' },
    h('option', { value: '' }, 'guess from the text'), SHELLS.map((s) => h('option', { value: s }, s)));
  const sandbox = h('input', { id: 'payload-sandbox', type: 'checkbox', testid: 'payload-sandbox' });
  const button = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'payload-submit' }, 'Analyse');
  const form = h('form', { class: 'payload-form', testid: 'payload-form' },
    h('div', { class: 'field' }, h('label', { for: 'payload-text' }, 'Command line or script'), text),
    h('div', { class: 'field' }, h('label', { for: 'payload-shell' }, 'Shell'), shell),
    h('div', { class: 'field field-check' }, sandbox, h('label', { for: 'payload-sandbox' }, 'Also run it in the sandbox (sh and bash; queued as a job)')),
    h('div', { class: 'field field-actions' }, button));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!text.value.trim()) {
      toast('Paste a command line or a script first.', 'warn');
      return;
    }
    const body = { text: text.value };
    if (shell.value) body.shell = shell.value;
    button.disabled = true;
    try {
      if (sandbox.checked) {
        body.sandbox = true;
        const job = await api.post('v1/payload/jobs', body, { signal: ctx.signal });
        if (job.note) toast(job.note, 'warn');
        ctx.navigate(`/payload/jobs/${job.id}`);
        return;
      }
      replace(out, loading('Analysing…'));
      const v = await api.post('v1/payload/analyze', body, { signal: ctx.signal });
      replace(out, ...verdictCards(v));
    } catch (e) {
      if (api.isAbort(e)) return;
      replace(out, errorBox(e));
    } finally {
      button.disabled = false;
    }
  });
  replace(main, h('div', { class: 'page page-payload' },
    h('h1', { tabindex: '-1' }, 'Payload analysis'),
    h('p', { class: 'muted' }, 'Decodes a command line or script layer by layer, finds attack patterns with their ATT&CK techniques, scores it and says what to do. A verdict of HIGH or above is raised as an alert.'),
    ctx.canWrite()
      ? card(null, form, { testid: 'payload-form-card' })
      : notice('This token is read-only: analysing a text raises alerts, which needs a token with the write scope.', 'info', 'payload-read-only'),
    out));
}

/** `#/payload/jobs/{id}`: a job, followed until its verdict is in. */
export async function renderJob(main, ctx) {
  const id = ctx.params[0];
  if (!/^\d+$/.test(id)) {
    replace(main, h('div', { class: 'page' }, h('h1', { tabindex: '-1' }, 'Payload job'), empty(`“${id}” is not a job id.`)));
    return;
  }
  const head = h('h1', { tabindex: '-1', testid: 'job-title' }, `Payload job #${id}`);
  const body = h('div', null, loading());
  replace(main, h('div', { class: 'page page-payload' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/payload' }, '← Payload analysis')), head, body));
  let timer = null;
  ctx.onCleanup(() => clearTimeout(timer));
  const show = async () => {
    let job;
    try {
      job = await api.get(`v1/payload/jobs/${id}`, null, { signal: ctx.signal });
    } catch (e) {
      if (api.isAbort(e)) return;
      replace(body, e.status === 404 ? empty('This job does not exist (or belongs to another tenant).') : errorBox(e, () => ctx.retry()));
      return;
    }
    const about = facts([
      ['Status', h('span', { class: 'badge', testid: 'job-status' }, String(job.status))],
      ['Sandbox', job.sandbox ? 'asked for' : 'no'],
      ['Submitted', job.created_at ? `${time(job.created_at)} UTC by ${job.submitted_by || '—'}` : null],
      ['Finished', job.finished_at ? `${time(job.finished_at)} UTC` : null],
      job.error ? ['Error', job.error] : null,
    ], 'job-facts');
    const verdict = obj(job.verdict);
    replace(body, card(null, about, { testid: 'job-card' }),
      verdict ? h('div', { class: 'grid grid-2', testid: 'verdict' }, ...verdictCards(verdict)) : null,
      job.status === 'queued' || job.status === 'running' ? loading(job.status === 'queued' ? 'Waiting for a worker…' : 'Analysing…') : null);
    if (job.status === 'queued' || job.status === 'running') timer = setTimeout(show, POLL_MS);
  };
  await show();
}
