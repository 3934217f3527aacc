// Hand-drawn SVG charts: stacked bars, histogram, line, world scatter (equirectangular),
// value band, timeline and small meters. Each draws at a given pixel width; responsive()
// redraws when the container is resized. Colours come from CSS classes, so both themes
// apply; every mark has a <title> for hover and assistive technology.

import { s, h, replace } from './dom.js';

const LABEL_PX = 6.4; // average width of a character of the axis font

function niceStep(max, count = 4) {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function fmtTick(v) {
  if (Math.abs(v) >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e4) return `${+(v / 1e3).toFixed(0)}k`;
  if (Math.abs(v) >= 1000) return `${+(v / 1e3).toFixed(1)}k`;
  return String(+v.toFixed(3));
}

/**
 * The chart's root: a picture (role="img") when it is only looked at; a labelled group when
 * it holds controls (clickable bars), which a picture would hide from assistive technology.
 */
function svgRoot(width, height, label, cls, { interactive = false } = {}) {
  return s('svg', {
    class: ['chart', cls], width, height, viewBox: `0 0 ${width} ${height}`, role: interactive ? 'group' : 'img', 'aria-label': label,
  });
}

function title(text) {
  return s('title', null, text);
}

const FOCUS_KEY = 'data-focus-key';

/**
 * Redraws draw(width) into container whenever its width changes. Marks that take focus
 * carry data-focus-key: the one focused (or holding the chart's tab stop) is the same
 * after a redraw.
 */
export function responsive(container, draw, minWidth = 260) {
  let last = -1;
  let wasConnected = false;
  const keyed = () => [...container.querySelectorAll(`[${FOCUS_KEY}]`)];
  const render = () => {
    if (container.isConnected) wasConnected = true;
    else if (wasConnected) { ro.disconnect(); return; }
    const w = Math.max(minWidth, Math.floor(container.clientWidth || 0) || 600);
    if (w === last) return;
    last = w;
    const active = document.activeElement;
    const focused = active && container.contains(active) ? active.getAttribute(FOCUS_KEY) : null;
    const stop = keyed().find((el) => el.getAttribute('tabindex') === '0');
    const stopKey = stop ? stop.getAttribute(FOCUS_KEY) : null;
    replace(container, draw(w));
    const want = focused ?? stopKey;
    if (want === null) return;
    const marks = keyed();
    const target = marks.find((el) => el.getAttribute(FOCUS_KEY) === want);
    if (!target) return;
    for (const el of marks) el.setAttribute('tabindex', el === target ? '0' : '-1');
    if (focused !== null) target.focus({ preventScroll: true });
  };
  const ro = new ResizeObserver(() => requestAnimationFrame(render));
  ro.observe(container);
  render();
  return container;
}

/** A chart in a div that follows its width. */
export function chartBox(draw, { testid, className, minWidth } = {}) {
  const box = h('div', { class: ['chart-box', className], testid });
  return responsive(box, draw, minWidth);
}

function yAxis(g, { x0, x1, y, max, step, format = fmtTick }) {
  for (let v = 0; v <= max + 1e-9; v += step) {
    const yy = y(v);
    g.appendChild(s('line', { class: 'grid', x1: x0, x2: x1, y1: yy, y2: yy }));
    g.appendChild(s('text', { class: 'axis', x: x0 - 6, y: yy + 4, 'text-anchor': 'end' }, format(v)));
  }
}

/**
 * Stacked vertical bars. data: [{label, parts: {key: n}, title?}], keys bottom-up,
 * cls(key) → class of a segment.
 */
export function stackedBars({ data, keys, cls, width, height = 220, label = 'Bar chart', onSelect }) {
  const m = { l: 40, r: 8, t: 10, b: 26 };
  const interactive = !!onSelect && data.some((d) => keys.some((k) => d.parts[k]));
  const svg = svgRoot(width, height, label, 'chart-bars', { interactive });
  const pw = width - m.l - m.r;
  const ph = height - m.t - m.b;
  const totals = data.map((d) => keys.reduce((a, k) => a + (d.parts[k] || 0), 0));
  const maxRaw = Math.max(1, ...totals);
  const step = Math.max(1, niceStep(maxRaw));
  const max = Math.ceil(maxRaw / step) * step;
  const y = (v) => m.t + ph - (v / max) * ph;
  const g = s('g');
  svg.appendChild(g);
  yAxis(g, { x0: m.l, x1: width - m.r, y, max, step });
  const n = Math.max(1, data.length);
  const band = pw / n;
  const bw = Math.max(1, Math.min(48, band * 0.74));
  const longest = Math.max(1, ...data.map((d) => String(d.label).length));
  const every = Math.max(1, Math.ceil((longest * LABEL_PX + 10) / band));
  const focusable = [];
  data.forEach((d, i) => {
    const x = m.l + i * band + (band - bw) / 2;
    const bar = s('g', { class: 'bar' });
    let acc = 0;
    for (const k of keys) {
      const v = d.parts[k] || 0;
      if (!v) continue;
      const top = y(acc + v);
      const hgt = y(acc) - top;
      bar.appendChild(s('rect', { class: cls(k), x, y: top, width: bw, height: Math.max(0.5, hgt) }));
      acc += v;
    }
    // An invisible full-height target makes thin bars easy to point at.
    bar.appendChild(s('rect', { class: 'hit', x: m.l + i * band, y: m.t, width: band, height: ph }));
    const parts = keys.filter((k) => d.parts[k]).reverse().map((k) => `${k} ${d.parts[k]}`).join(', ');
    const text = d.title || `${d.full || d.label}: ${totals[i]}${parts ? ` (${parts})` : ''}`;
    bar.appendChild(title(text));
    if (onSelect && totals[i] > 0) {
      // A bar with alerts opens them: by pointer, or by keyboard — one tab stop for the
      // chart, the arrow keys move between bars, Enter or Space opens.
      bar.setAttribute('class', 'bar clickable');
      bar.setAttribute('tabindex', focusable.length ? '-1' : '0');
      bar.setAttribute('role', 'link');
      bar.setAttribute('aria-label', `${text}; open these alerts`);
      bar.setAttribute(FOCUS_KEY, String(d.key ?? d.label ?? i));
      bar.addEventListener('click', () => onSelect(d));
      const at = focusable.length;
      bar.addEventListener('keydown', (ev) => {
        let to = null;
        if (ev.key === 'Enter' || ev.key === ' ') {
          ev.preventDefault();
          onSelect(d);
        } else if (ev.key === 'ArrowRight' || ev.key === 'ArrowUp') to = Math.min(focusable.length - 1, at + 1);
        else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowDown') to = Math.max(0, at - 1);
        else if (ev.key === 'Home') to = 0;
        else if (ev.key === 'End') to = focusable.length - 1;
        if (to !== null) {
          ev.preventDefault();
          focusable.forEach((b, j) => b.setAttribute('tabindex', j === to ? '0' : '-1'));
          focusable[to].focus();
        }
      });
      focusable.push(bar);
    }
    g.appendChild(bar);
    if (i % every === 0) {
      g.appendChild(s('text', { class: 'axis', x: m.l + i * band + band / 2, y: height - 8, 'text-anchor': 'middle' }, d.label));
    }
  });
  g.appendChild(s('line', { class: 'axis-line', x1: m.l, x2: width - m.r, y1: y(0), y2: y(0) }));
  return svg;
}

/** One series of bars with labels; highlight: a Set of indexes drawn as "the point". */
export function histogram({ values, labels, width, height = 160, label = 'Histogram', highlight = new Set(), cls = 'bar-fill', titles }) {
  const m = { l: 32, r: 6, t: 10, b: 24 };
  const svg = svgRoot(width, height, label, 'chart-hist');
  const pw = width - m.l - m.r;
  const ph = height - m.t - m.b;
  const maxRaw = Math.max(1, ...values);
  const step = Math.max(1, niceStep(maxRaw, 3));
  const max = Math.ceil(maxRaw / step) * step;
  const y = (v) => m.t + ph - (v / max) * ph;
  yAxis(svg, { x0: m.l, x1: width - m.r, y, max, step });
  const band = pw / values.length;
  const bw = Math.max(1, band * 0.78);
  const longest = Math.max(1, ...labels.map((l) => String(l).length));
  const every = Math.max(1, Math.ceil((longest * LABEL_PX + 6) / band));
  values.forEach((v, i) => {
    const x = m.l + i * band + (band - bw) / 2;
    const hot = highlight.has(i);
    const g = s('g', { class: hot ? 'bar hot' : 'bar' });
    if (hot) g.appendChild(s('rect', { class: 'hot-col', x: m.l + i * band, y: m.t, width: band, height: ph }));
    g.appendChild(s('rect', { class: hot ? 'bar-hot' : cls, x, y: y(v), width: bw, height: Math.max(hot ? 2 : 0, y(0) - y(v)) }));
    g.appendChild(s('rect', { class: 'hit', x: m.l + i * band, y: m.t, width: band, height: ph }));
    g.appendChild(title(titles ? titles[i] : `${labels[i]}: ${v}`));
    svg.appendChild(g);
    if (i % every === 0 || hot) {
      svg.appendChild(s('text', { class: hot ? 'axis axis-hot' : 'axis', x: m.l + i * band + band / 2, y: height - 7, 'text-anchor': 'middle' }, labels[i]));
    }
  });
  svg.appendChild(s('line', { class: 'axis-line', x1: m.l, x2: width - m.r, y1: y(0), y2: y(0) }));
  return svg;
}

function timeFormatter(spanMs) {
  const p = (n) => String(n).padStart(2, '0');
  if (spanMs <= 2 * 86_400_000) return (d) => `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
  return (d) => `${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`;
}

function timeTicks(t0, t1, pw) {
  const count = Math.max(2, Math.floor(pw / 90));
  const span = Math.max(1, t1 - t0);
  const steps = [60e3, 300e3, 900e3, 1800e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3, 2 * 86400e3, 7 * 86400e3, 14 * 86400e3, 30 * 86400e3, 91 * 86400e3, 365 * 86400e3];
  // Labels show days beyond two days of span: never step by less than a day then.
  const usable = span > 2 * 86_400_000 ? steps.filter((st) => st >= 86_400_000) : steps;
  const step = usable.find((st) => span / st <= count) || usable[usable.length - 1];
  const out = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push(t);
  return out;
}

/** A line over time: points [{t: Date, y, label?}]. */
export function lineChart({ points, width, height = 180, label = 'Line chart', yMax, format = fmtTick, cls = 'line-main' }) {
  const m = { l: 40, r: 12, t: 12, b: 26 };
  const svg = svgRoot(width, height, label, 'chart-line');
  const pw = width - m.l - m.r;
  const ph = height - m.t - m.b;
  const ts = points.map((p) => p.t.getTime());
  let t0 = Math.min(...ts);
  let t1 = Math.max(...ts);
  if (t0 === t1) { t0 -= 43_200_000; t1 += 43_200_000; }
  const maxRaw = yMax ?? Math.max(1, ...points.map((p) => p.y));
  const step = niceStep(maxRaw);
  const max = Math.ceil(maxRaw / step) * step;
  const x = (t) => m.l + ((t - t0) / (t1 - t0)) * pw;
  const y = (v) => m.t + ph - (v / max) * ph;
  yAxis(svg, { x0: m.l, x1: width - m.r, y, max, step, format });
  const f = timeFormatter(t1 - t0);
  for (const t of timeTicks(t0, t1, pw)) {
    svg.appendChild(s('text', { class: 'axis', x: x(t), y: height - 8, 'text-anchor': 'middle' }, f(new Date(t))));
  }
  const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t.getTime()).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ');
  svg.appendChild(s('path', { class: cls, d }));
  for (const p of points) {
    const c = s('circle', { class: p.cls || 'dot', cx: x(p.t.getTime()), cy: y(p.y), r: 3.5 });
    c.appendChild(title(p.label || `${p.y}`));
    svg.appendChild(c);
  }
  return svg;
}

// Very coarse land outlines ([lon, lat] rings), enough to orient a reader; not a map.
const LAND = [
  // North America
  [[-168, 66], [-162, 70], [-141, 70], [-125, 70], [-110, 73], [-95, 72], [-85, 70], [-80, 73], [-62, 66], [-64, 60], [-55, 52], [-66, 45], [-70, 42], [-76, 35], [-81, 31], [-80, 25], [-82, 27], [-85, 30], [-90, 29], [-97, 27], [-97, 22], [-92, 18], [-88, 21], [-87, 16], [-83, 10], [-77, 8], [-80, 7], [-85, 10], [-92, 14], [-105, 20], [-110, 23], [-115, 30], [-118, 34], [-123, 38], [-124, 42], [-124, 48], [-130, 55], [-140, 60], [-150, 61], [-158, 57], [-165, 60]],
  // Greenland
  [[-73, 78], [-60, 82], [-30, 83], [-20, 80], [-20, 70], [-42, 60], [-50, 64], [-55, 70]],
  // South America
  [[-77, 8], [-72, 12], [-62, 11], [-52, 5], [-50, 0], [-35, -5], [-35, -9], [-39, -15], [-41, -22], [-48, -26], [-53, -33], [-58, -38], [-62, -40], [-65, -45], [-68, -52], [-70, -55], [-74, -50], [-73, -40], [-71, -30], [-70, -18], [-76, -14], [-81, -6], [-80, -2]],
  // Africa
  [[-17, 21], [-16, 14], [-13, 9], [-7, 4], [2, 6], [9, 4], [9, -1], [12, -5], [13, -12], [12, -17], [15, -27], [18, -34], [20, -35], [26, -34], [33, -28], [35, -22], [40, -15], [40, -10], [39, -5], [43, 0], [51, 11], [44, 11], [42, 14], [38, 18], [35, 24], [33, 30], [30, 31], [20, 31], [10, 37], [-1, 36], [-6, 36], [-10, 30]],
  // Eurasia
  [[-9, 43], [-9, 37], [-6, 36], [-2, 37], [0, 39], [3, 42], [5, 43], [9, 44], [12, 44], [16, 38], [18, 40], [13, 45.5], [19, 42], [23, 37], [26, 40], [29, 41], [36, 37], [35, 33], [34, 31], [39, 21], [43, 13], [52, 16], [59, 22], [56, 26], [52, 28], [57, 26], [62, 25], [67, 24], [73, 18], [77, 8], [80, 13], [82, 17], [87, 21], [91, 22], [94, 18], [98, 16], [99, 9], [104, 1], [103, 10], [105, 9], [109, 12], [108, 16], [106, 20], [110, 21], [117, 23], [121, 28], [122, 31], [119, 35], [122, 37], [118, 39], [122, 40], [125, 40], [127, 37], [129, 35], [129, 40], [135, 43], [141, 47], [140, 54], [135, 55], [142, 59], [155, 59], [163, 62], [157, 51], [163, 56], [172, 61], [180, 65], [180, 70], [160, 70], [140, 73], [113, 74], [100, 78], [80, 73], [70, 73], [60, 70], [43, 68], [40, 66], [33, 70], [25, 71], [15, 68], [5, 62], [5, 58], [10, 58], [12, 55], [8, 55], [8, 54], [5, 53], [2, 51], [-5, 48], [-1, 46], [-2, 43]],
  // Great Britain, Ireland
  [[-5, 50], [1, 51], [2, 53], [-3, 56], [-2, 58], [-6, 58], [-5, 55], [-3, 54], [-5, 52]],
  [[-10, 52], [-6, 52], [-6, 55], [-10, 54]],
  // Japan
  [[130, 31], [135, 34], [140, 35], [141, 40], [142, 45], [140, 43], [139, 38], [133, 35]],
  // Madagascar, Sumatra, Borneo, New Guinea
  [[44, -25], [47, -25], [50, -15], [49, -12], [44, -17]],
  [[95, 5], [98, 3], [106, -6], [104, -5], [97, 0]],
  [[109, 1], [117, 7], [119, 1], [116, -4], [110, -3]],
  [[131, -1], [141, -3], [150, -10], [142, -9], [137, -5]],
  // Australia, New Zealand
  [[114, -22], [114, -34], [118, -35], [124, -34], [131, -31], [138, -35], [141, -38], [147, -38], [150, -37], [153, -28], [153, -25], [146, -19], [142, -11], [141, -17], [136, -12], [131, -11], [127, -14], [122, -18]],
  [[172, -34], [178, -38], [174, -42], [170, -46], [167, -46], [172, -41]],
];

const LAT_TOP = 85;
const LAT_BOTTOM = -60;

/**
 * Locations on an equirectangular projection. points: [{lat, lon, cls, r, label}];
 * lines: [{a: {lat, lon}, b: {lat, lon}, cls, label}].
 */
export function worldMap({ points = [], lines = [], width, label = 'Locations on a world map' }) {
  const m = { l: 30, r: 8, t: 8, b: 18 };
  const pw = width - m.l - m.r;
  const ph = Math.round(pw * ((LAT_TOP - LAT_BOTTOM) / 360));
  const height = ph + m.t + m.b;
  const svg = svgRoot(width, height, label, 'chart-map');
  const x = (lon) => m.l + ((lon + 180) / 360) * pw;
  const y = (lat) => m.t + ((LAT_TOP - Math.max(LAT_BOTTOM, Math.min(LAT_TOP, lat))) / (LAT_TOP - LAT_BOTTOM)) * ph;
  svg.appendChild(s('rect', { class: 'map-sea', x: m.l, y: m.t, width: pw, height: ph }));
  for (const ring of LAND) {
    const d = ring.map(([lo, la], i) => `${i ? 'L' : 'M'}${x(lo).toFixed(1)},${y(la).toFixed(1)}`).join(' ');
    svg.appendChild(s('path', { class: 'map-land', d: `${d} Z` }));
  }
  for (let lon = -150; lon <= 150; lon += 30) {
    svg.appendChild(s('line', { class: lon === 0 ? 'map-grid map-grid-main' : 'map-grid', x1: x(lon), x2: x(lon), y1: m.t, y2: m.t + ph }));
    if (lon % 60 === 0 || pw > 560) {
      svg.appendChild(s('text', { class: 'axis', x: x(lon), y: height - 5, 'text-anchor': 'middle' }, lon === 0 ? '0°' : `${Math.abs(lon)}°${lon < 0 ? 'W' : 'E'}`));
    }
  }
  for (const lat of [60, 30, 0, -30]) {
    svg.appendChild(s('line', { class: lat === 0 ? 'map-grid map-grid-main' : 'map-grid', x1: m.l, x2: m.l + pw, y1: y(lat), y2: y(lat) }));
    svg.appendChild(s('text', { class: 'axis', x: m.l - 4, y: y(lat) + 4, 'text-anchor': 'end' }, lat === 0 ? '0°' : `${Math.abs(lat)}°${lat < 0 ? 'S' : 'N'}`));
  }
  for (const ln of lines) {
    const l = s('line', { class: ln.cls || 'map-path', x1: x(ln.a.lon), y1: y(ln.a.lat), x2: x(ln.b.lon), y2: y(ln.b.lat) });
    if (ln.label) l.appendChild(title(ln.label));
    svg.appendChild(l);
  }
  // Biggest first so small marks stay on top.
  for (const p of [...points].sort((a, b) => (b.r || 4) - (a.r || 4))) {
    const c = s('circle', { class: p.cls || 'map-point', cx: x(p.lon), cy: y(p.lat), r: p.r || 4 });
    c.appendChild(title(p.label || `${p.lat.toFixed(2)}, ${p.lon.toFixed(2)}`));
    svg.appendChild(c);
  }
  return svg;
}

/**
 * Values against a usual band (mean ± 2σ, and ± 1σ darker): points [{t?: Date, v, cls,
 * label}]. A log scale is used when the values span more than two orders of magnitude.
 */
export function bandChart({ mean, std, points, width, height = 190, label = 'Value against the usual band', unit = '', format = fmtTick }) {
  const m = { l: 54, r: 12, t: 12, b: 26 };
  const svg = svgRoot(width, height, label, 'chart-band');
  const pw = width - m.l - m.r;
  const ph = height - m.t - m.b;
  const sd = Math.max(0, std || 0);
  const lo2 = Math.max(0, mean - 2 * sd);
  const hi2 = mean + 2 * sd;
  const vals = [...points.map((p) => p.v), hi2, mean].filter((v) => Number.isFinite(v));
  const positive = vals.filter((v) => v > 0);
  const vmax = Math.max(1e-9, ...vals);
  const vmin = positive.length ? Math.min(...positive) : vmax / 10;
  const log = vmax / Math.max(vmin, 1e-12) > 100;
  let y;
  let ticks;
  if (log) {
    const a = Math.floor(Math.log10(Math.max(vmin, 1e-9)));
    const b = Math.ceil(Math.log10(vmax * 1.05));
    const span = Math.max(1, b - a);
    y = (v) => m.t + ph - ((Math.log10(Math.max(v, 10 ** a)) - a) / span) * ph;
    ticks = [];
    const stride = Math.max(1, Math.ceil(span / 5));
    for (let e = a; e <= b; e += stride) ticks.push(10 ** e);
  } else {
    const step = niceStep(vmax * 1.1);
    const max = Math.ceil((vmax * 1.1) / step) * step;
    y = (v) => m.t + ph - (Math.max(0, v) / max) * ph;
    ticks = [];
    for (let v = 0; v <= max + 1e-12; v += step) ticks.push(v);
  }
  for (const v of ticks) {
    svg.appendChild(s('line', { class: 'grid', x1: m.l, x2: width - m.r, y1: y(v), y2: y(v) }));
    svg.appendChild(s('text', { class: 'axis', x: m.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, `${format(v)}${unit}`));
  }
  const bandOuter = s('rect', { class: 'band-outer', x: m.l, width: pw, y: y(hi2), height: Math.max(1, y(lo2) - y(hi2)) });
  bandOuter.appendChild(title(`usual range (mean ± 2σ): ${format(lo2)}–${format(hi2)}${unit}`));
  svg.appendChild(bandOuter);
  const lo1 = Math.max(0, mean - sd);
  const hi1 = mean + sd;
  svg.appendChild(s('rect', { class: 'band-inner', x: m.l, width: pw, y: y(hi1), height: Math.max(1, y(lo1) - y(hi1)) }));
  const meanLine = s('line', { class: 'band-mean', x1: m.l, x2: width - m.r, y1: y(mean), y2: y(mean) });
  meanLine.appendChild(title(`mean ${format(mean)}${unit}`));
  svg.appendChild(meanLine);
  const timed = points.length > 0 && points.every((p) => p.t instanceof Date);
  let x;
  if (timed) {
    let t0 = Math.min(...points.map((p) => p.t.getTime()));
    let t1 = Math.max(...points.map((p) => p.t.getTime()));
    if (t0 === t1) { t0 -= 3_600_000; t1 += 3_600_000; }
    const pad = (t1 - t0) * 0.04;
    t0 -= pad; t1 += pad;
    x = (p) => m.l + ((p.t.getTime() - t0) / (t1 - t0)) * pw;
    const f = timeFormatter(t1 - t0);
    for (const t of timeTicks(t0, t1, pw)) {
      svg.appendChild(s('text', { class: 'axis', x: m.l + ((t - t0) / (t1 - t0)) * pw, y: height - 8, 'text-anchor': 'middle' }, f(new Date(t))));
    }
  } else {
    x = (_p, i) => m.l + ((i + 0.5) / Math.max(1, points.length)) * pw;
  }
  points.forEach((p, i) => {
    if (!Number.isFinite(p.v)) return;
    const c = s('circle', { class: p.cls || 'dot', cx: x(p, i), cy: y(p.v), r: p.cls === 'dot-hot' ? 6 : 4 });
    c.appendChild(title(p.label || `${format(p.v)}${unit}`));
    svg.appendChild(c);
  });
  return svg;
}

/**
 * Events on a time axis: items [{t: Date, label, cls, title}], drawn in lanes so labels
 * do not collide; `focus` marks one moment (the alert).
 */
export function timeline({ items, width, label = 'Timeline', focus }) {
  const m = { l: 16, r: 16, t: 10, b: 26 };
  const lanes = 4;
  const laneH = 17;
  const height = m.t + lanes * laneH + 22 + m.b;
  const svg = svgRoot(width, height, label, 'chart-timeline');
  const pw = width - m.l - m.r;
  const ts = items.map((i) => i.t.getTime());
  if (focus) ts.push(focus.getTime());
  let t0 = Math.min(...ts);
  let t1 = Math.max(...ts);
  if (t0 === t1) { t0 -= 1_800_000; t1 += 1_800_000; }
  const pad = (t1 - t0) * 0.03;
  t0 -= pad; t1 += pad;
  const x = (t) => m.l + ((t - t0) / (t1 - t0)) * pw;
  const axisY = m.t + lanes * laneH + 14;
  svg.appendChild(s('line', { class: 'axis-line', x1: m.l, x2: width - m.r, y1: axisY, y2: axisY }));
  const f = timeFormatter(t1 - t0);
  for (const t of timeTicks(t0, t1, pw)) {
    svg.appendChild(s('line', { class: 'tick', x1: x(t), x2: x(t), y1: axisY, y2: axisY + 4 }));
    svg.appendChild(s('text', { class: 'axis', x: x(t), y: axisY + 16, 'text-anchor': 'middle' }, f(new Date(t))));
  }
  if (focus) {
    svg.appendChild(s('line', { class: 'focus-line', x1: x(focus.getTime()), x2: x(focus.getTime()), y1: m.t, y2: axisY }));
  }
  // Labels go in lanes; the emphasised items are placed first, and a label that finds
  // no free lane is left out (its mark keeps the title).
  const taken = Array.from({ length: lanes }, () => []);
  const free = (lane, a, b) => taken[lane].every(([x0, x1]) => b < x0 - 4 || a > x1 + 4);
  const hot = (it) => !!(it.cls && it.cls.includes('hot'));
  const order = [...items].sort((a, b) => (hot(b) - hot(a)) || (a.t - b.t));
  const marks = s('g');
  const labels = s('g');
  for (const it of order) {
    const cx = x(it.t.getTime());
    const text = String(it.label || '');
    const w = text.length * LABEL_PX + 8;
    const right = cx + 6 + w < width;
    const [a, b] = right ? [cx, cx + 6 + w] : [cx - 6 - w, cx];
    const lane = [...Array(lanes).keys()].find((l) => free(l, a, b));
    const g = s('g', { class: ['tl-item', it.cls].filter(Boolean).join(' ') });
    if (lane !== undefined) {
      taken[lane].push([a, b]);
      const ly = m.t + lane * laneH + 10;
      g.appendChild(s('line', { class: 'tl-stem', x1: cx, x2: cx, y1: ly, y2: axisY }));
      labels.appendChild(s('text', { class: ['tl-label', hot(it) ? 'tl-label-hot' : null].filter(Boolean).join(' '), x: right ? cx + 6 : cx - 6, y: ly + 4, 'text-anchor': right ? 'start' : 'end' }, text));
    }
    g.appendChild(s('circle', { class: 'tl-dot', cx, cy: axisY, r: hot(it) ? 6 : 4 }));
    g.appendChild(title(it.title || text));
    if (hot(it)) marks.appendChild(g); else marks.insertBefore(g, marks.firstChild);
  }
  svg.appendChild(marks);
  svg.appendChild(labels);
  return svg;
}

/** A small horizontal bar for a value out of max. */
export function meter(value, max, cls = 'meter-fill', width = 96, label) {
  const frac = max > 0 ? Math.max(0, Math.min(1, value / max)) : 0;
  const svg = s('svg', { class: 'meter', width, height: 8, viewBox: `0 0 ${width} 8`, 'aria-hidden': label ? null : 'true', role: label ? 'img' : null, 'aria-label': label || null });
  svg.appendChild(s('rect', { class: 'meter-track', x: 0, y: 0, width, height: 8, rx: 4 }));
  if (frac > 0) svg.appendChild(s('rect', { class: cls, x: 0, y: 0, width: Math.max(4, frac * width), height: 8, rx: 4 }));
  return svg;
}

/** Level legend chips for a chart. */
export function legend(items) {
  return h('ul', { class: 'legend' }, items.map(([cls, text]) => h('li', null, s('svg', { width: 10, height: 10, viewBox: '0 0 10 10', 'aria-hidden': 'true' }, s('rect', { class: cls, width: 10, height: 10, rx: 2 })), text)));
}
