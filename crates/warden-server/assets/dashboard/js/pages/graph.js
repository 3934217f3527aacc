// A graph finding drawn: the hosts and accounts of its path as an SVG, left to right in
// the order the steps reach them, every hop an arrow with its time, remote execution and
// credential access marked on their host; the steps as a timeline below; and a pivot:
// any entity opens its neighbourhood in the tenant's entity graph (/v1/graph/neighbours).
// No external library: the drawing is plain SVG from dom.js.

import * as api from '../api.js';
import {
  h, s, replace, time, humanize, card, empty, tableWrap,
} from '../dom.js';

const NODE_W = 132;
const NODE_H = 34;
const GAP = 84;
const PAD = 16;
const MAX_NODES = 24;

const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : null);
const text = (v) => (typeof v === 'string' && v ? v : null);

/** The steps of a graph finding (`detail.graph.steps`), oldest first; [] when absent. */
export function stepsOf(graph) {
  const steps = graph && Array.isArray(graph.steps) ? graph.steps.filter(obj) : [];
  return steps.slice().sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp)));
}

/** The entities in the order the steps reach them (sources and destinations). */
function nodesOf(steps) {
  const out = [];
  for (const st of steps) {
    for (const n of [st.from, st.to]) {
      if (text(n) && !out.includes(n) && out.length < MAX_NODES) out.push(n);
    }
  }
  return out;
}

/** `host:NAME` for a host, `ip:…` for an address, `process:…` for a program. */
function entitySpec(name) {
  if (/^[0-9a-f.:]+$/i.test(name) && /[.:]/.test(name)) return `ip:${name}`;
  if (name.includes('@')) return `process:${name}`;
  return `host:${name}`;
}

function shortTime(t) {
  const m = /T(\d\d:\d\d)/.exec(String(t || ''));
  return m ? m[1] : '';
}

/** The path as SVG: one box per entity, one arrow per hop, marks for what ran where. */
function pathSvg(steps, onPivot) {
  const nodes = nodesOf(steps);
  const width = PAD * 2 + nodes.length * NODE_W + Math.max(0, nodes.length - 1) * GAP;
  const height = NODE_H + 96;
  const x = (i) => PAD + i * (NODE_W + GAP);
  const y = 40;
  const svg = s('svg', {
    class: 'graph-path', width, height, viewBox: `0 0 ${width} ${height}`,
    role: 'group', 'aria-label': `Path through ${nodes.join(', ')}`, testid: 'graph-path',
  });
  svg.appendChild(s('defs', null, s('marker', {
    id: 'graph-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse',
  }, s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'graph-arrow-head' }))));
  // Hops: an arrow between two boxes, above the boxes when it goes backwards.
  const seenPairs = new Map();
  for (const st of steps) {
    if (!(text(st.from) && text(st.to))) continue;
    const a = nodes.indexOf(st.from);
    const b = nodes.indexOf(st.to);
    if (a < 0 || b < 0 || a === b) continue;
    const key = `${a}>${b}`;
    const nth = seenPairs.get(key) || 0;
    seenPairs.set(key, nth + 1);
    if (nth > 0) continue;
    const forward = a < b;
    const x1 = forward ? x(a) + NODE_W : x(a);
    const x2 = forward ? x(b) : x(b) + NODE_W;
    const lift = forward ? 0 : -30;
    const yy = y + NODE_H / 2;
    const d = forward && b === a + 1
      ? `M ${x1} ${yy} L ${x2} ${yy}`
      : `M ${x1} ${yy} C ${x1 + (forward ? 30 : -30)} ${yy + lift - 40}, ${x2 + (forward ? -30 : 30)} ${yy + lift - 40}, ${x2} ${yy}`;
    const g = s('g', { class: st.first_seen ? 'graph-hop graph-hop-new' : 'graph-hop', testid: 'graph-hop' },
      s('title', null, `${st.timestamp || ''} ${st.detail || ''}`),
      s('path', { d, 'marker-end': 'url(#graph-arrow)', fill: 'none' }),
      s('text', { class: 'graph-hop-label', x: (x1 + x2) / 2, y: yy - 8 + (forward && b === a + 1 ? 0 : lift - 22), 'text-anchor': 'middle' },
        `${shortTime(st.timestamp)}${text(st.account) ? ` ${st.account}` : ''}`));
    svg.appendChild(g);
  }
  // Boxes, each a pivot; the marks of what happened on them below.
  nodes.forEach((n, i) => {
    const marks = steps.filter((st) => st.to === n && st.kind !== 'logon' || st.from === n && st.kind === 'credential_access')
      .map((st) => humanize(st.kind));
    const uniq = [...new Set(marks)];
    const g = s('g', {
      class: 'graph-node', tabindex: 0, role: 'button', 'data-entity': n, testid: 'graph-node',
      'aria-label': `${n}: show its neighbourhood`,
      on: {
        click: () => onPivot(entitySpec(n)),
        keydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onPivot(entitySpec(n)); } },
      },
    },
    s('title', null, `${n}${uniq.length ? ` — ${uniq.join(', ')}` : ''}`),
    s('rect', { x: x(i), y, width: NODE_W, height: NODE_H, rx: 6 }),
    s('text', { x: x(i) + NODE_W / 2, y: y + NODE_H / 2 + 4, 'text-anchor': 'middle', class: 'graph-node-label' },
      n.length > 18 ? `${n.slice(0, 17)}…` : n));
    uniq.slice(0, 2).forEach((m, k) => g.appendChild(s('text', {
      x: x(i) + NODE_W / 2, y: y + NODE_H + 16 + k * 14, 'text-anchor': 'middle', class: 'graph-node-mark', testid: 'graph-mark',
    }, m)));
    svg.appendChild(g);
  });
  return svg;
}

function stepsTable(steps, onPivot) {
  const link = (n) => (text(n)
    ? h('button', { type: 'button', class: 'link-button mono', on: { click: () => onPivot(entitySpec(n)) } }, n)
    : '—');
  return tableWrap(h('table', { class: 'table compact', testid: 'graph-steps' },
    h('thead', null, h('tr', null, ['Time', 'Step', 'Account', 'From', 'To', 'Tactic', 'What'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, steps.map((st) => h('tr', { testid: 'graph-step', 'data-kind': st.kind || '' },
      h('td', { class: 'nowrap' }, time(st.timestamp)),
      h('td', null, humanize(st.kind || ''), st.first_seen ? h('span', { class: 'badge badge-flag', title: 'This edge had never been seen before' }, 'new') : null),
      h('td', { class: 'mono' }, text(st.account) ? h('button', { type: 'button', class: 'link-button', on: { click: () => onPivot(`account:${st.account}`) } }, st.account) : '—'),
      h('td', null, link(st.from)),
      h('td', null, link(st.to)),
      h('td', null, text(st.tactic) ? humanize(st.tactic) : '—'),
      h('td', { class: 'small' }, st.detail || ''))))), 'The steps of the finding');
}

function edgesTable(edges) {
  return tableWrap(h('table', { class: 'table compact', testid: 'graph-neighbours' },
    h('thead', null, h('tr', null, ['From', 'Edge', 'To', 'Account', 'First seen', 'Last seen', 'Count'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, edges.map((e) => h('tr', { testid: 'graph-edge' },
      h('td', { class: 'mono' }, e.src || ''),
      h('td', null, humanize(e.kind || ''), e.logon_type ? ` (type ${e.logon_type}${e.ntlm ? ', NTLM' : ''})` : ''),
      h('td', { class: 'mono' }, e.dst || ''),
      h('td', { class: 'mono' }, e.actor || '—'),
      h('td', { class: 'nowrap' }, time(e.first_seen)),
      h('td', { class: 'nowrap' }, time(e.last_seen)),
      h('td', { class: 'num' }, String(e.count ?? '')))))), 'Edges of the entity');
}

/** The "Path" card of a graph finding, with its pivot below it. */
export function graphCard(graph, { signal } = {}) {
  const steps = stepsOf(graph);
  const pivotBox = h('div', { class: 'graph-pivot', testid: 'graph-pivot', 'aria-live': 'polite' },
    h('p', { class: 'muted small' }, 'Choose a host or an account to see its neighbourhood in the entity graph.'));
  const pivot = async (entity) => {
    replace(pivotBox, h('p', { class: 'muted small' }, `Loading the neighbourhood of ${entity}…`));
    try {
      const res = await api.get('v1/graph/neighbours', { entity, limit: 200 }, { signal });
      const edges = Array.isArray(res.edges) ? res.edges.filter(obj) : [];
      replace(pivotBox, h('h3', { class: 'small-title', testid: 'graph-pivot-title' }, `Neighbourhood of ${entity}`),
        edges.length ? edgesTable(edges) : empty('No edge of this entity in the graph.'));
    } catch (e) {
      if (api.isAbort(e)) return;
      replace(pivotBox, empty(e.status === 404 ? `${entity} is not in this tenant's graph (it may have been built before a restart or on another server).` : `The graph could not be read: ${e.message}`));
    }
  };
  if (!steps.length) return card('Path', empty('The finding names no step.'), { testid: 'graph-card', className: 'span-2' });
  return card(`Path — ${humanize(text(graph.finder) || 'graph finding')}`, h('div', null,
    h('div', { class: 'graph-scroll' }, pathSvg(steps, pivot)),
    stepsTable(steps, pivot),
    pivotBox), { testid: 'graph-card', className: 'span-2' });
}
