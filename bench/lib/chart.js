'use strict';

// An SVG bar chart of a bench report's ratios to node:http, written by hand
// (no dependency): one group of bars per case, per server a solid bar for
// the measured ratio and a light one beside it for the projected ratio, a
// dashed line at 1.0 (node:http itself; fs.promises for the ring group, ws on
// node:http for the WebSocket cases,
// whose groups say so under their names).

const COLORS = {
  uring: '#2563eb', 'uring-rings2': '#4f46e5', 'uring-default': '#7c3aed', 'uring-route': '#1e3a8a',
  'uring-static': '#60a5fa', node: '#6b7280', 'node-static': '#4b5563', fastify: '#059669', nginx: '#b91c1c', uws: '#ea580c',
  ring: '#0891b2', fs: '#9ca3af', 'uring-ws': '#2563eb', ws: '#6b7280', 'uws-ws': '#ea580c',
  'uring-thread': '#93c5fd', 'uring-route-thread': '#3b82f6', 'uring-static-thread': '#bfdbfe', 'uring-ws-thread': '#93c5fd',
};
const SPARE_COLORS = ['#d97706', '#db2777', '#65a30d'];

// What a group's bars are a ratio of, under its name and in bar titles.
const UNITS = {
  rps: { group: 'req/s, higher is better', title: "req/s over node:http's" },
  rss: { group: 'RSS, lower is better', title: "RSS over node:http's" },
  ops: { group: 'ops/s vs fs.promises', title: "ops/s over fs.promises'" },
  msgs: { group: 'msgs/s vs ws', title: "messages/s over ws's on node:http" },
};

const BAR = 20; // bar width
const PAIR_GAP = 2; // between a server's measured and projected bars
const SERVER_GAP = 10;
const GROUP_GAP = 36;
const MIN_GROUP = 130; // room for a group's labels under the axis
const PLOT_TOP = 130;
const PLOT_HEIGHT = 300;
const LEFT = 70;
const RIGHT = 110; // room for the 1.0 line's label
const BOTTOM = 64; // case names under the axis
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

// Text and attribute values go through this: names and CPU models may hold
// '&' or '<'.
function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function round(n) {
  return Math.round(n * 10) / 10;
}

// A bar's value: RSS ratios, alone in their slots and often below 1, get
// two decimals; req/s ratios, in pairs, one.
function label(n, ratioOf) {
  return n.toFixed(ratioOf === 'rss' ? 2 : 1);
}

// The y axis's top and tick step: about five ticks at 1, 2 or 5 times a
// power of ten.
function scale(max) {
  const raw = Math.max(max, 1.2) / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return { top: Math.ceil((max * 1.08) / step) * step, step };
}

// The bars of one server in one case: measured, then projected when it
// means something (not for the baseline itself, nor for RSS ratios).
function barsOf(r) {
  const bars = [{ kind: 'measured', value: r.ratio }];
  const baseline = r.baseline ? r.server === r.baseline : r.server === 'node' || r.server === 'fs';
  if (!baseline && Number.isFinite(r.projected)) bars.push({ kind: 'projected', value: r.projected });
  return bars;
}

// Two lines under the title: the run, then the machine.
function subtitle(report) {
  const m = report.machine;
  const load = report.loadGenerator ?? report.wrk; // reports from before autocannon named only wrk
  const when = report.date.slice(0, 16).replace('T', ' ');
  const { repeat, duration } = report.flags;
  return [
    `${when} UTC · ${load} · medians of ${repeat} × ${duration} s`,
    `${m.cpu}, ${m.nproc} CPUs · Linux ${m.kernel} · Node ${m.node}`,
  ];
}

// The chart for report (what bench/index.js writes as JSON), as a string.
function svgChart(report) {
  const results = report.results.filter((r) => Number.isFinite(r.ratio));
  const caseNames = [...new Set(results.map((r) => r.case))];
  const serverNames = [...new Set(results.map((r) => r.server))];
  const color = (s) => COLORS[s] ?? SPARE_COLORS[serverNames.indexOf(s) % SPARE_COLORS.length];
  const max = Math.max(...results.flatMap((r) => barsOf(r).map((b) => b.value)), 1);
  const { top, step } = scale(max);
  const y = (v) => PLOT_TOP + PLOT_HEIGHT - (v / top) * PLOT_HEIGHT;

  // Lay the groups out left to right.
  const groups = [];
  let x = LEFT + GROUP_GAP / 2;
  for (const name of caseNames) {
    const bars = [];
    let w = 0; // bar offsets within the group, then its width
    for (const r of results.filter((r) => r.case === name)) {
      for (const bar of barsOf(r)) {
        bars.push({ ...bar, r, x: w });
        w += BAR + PAIR_GAP;
      }
      w += SERVER_GAP - PAIR_GAP;
    }
    w -= SERVER_GAP;
    // Narrow groups are widened, bars centred, so that labels do not meet.
    const pad = Math.max(0, (MIN_GROUP - w) / 2);
    for (const bar of bars) bar.x += x + pad;
    const units = UNITS[results.find((r) => r.case === name).ratioOf ?? 'rps'];
    groups.push({ name, units, bars, mid: x + pad + w / 2 });
    x += w + 2 * pad + GROUP_GAP;
  }
  const plotRight = x - GROUP_GAP / 2;
  const sub = subtitle(report);
  const longest = Math.max(...sub.map((line) => line.length));
  const width = Math.round(Math.max(plotRight + RIGHT, LEFT + longest * 6.8 + 20, 760)); // 6.8: a 12 px character
  const height = PLOT_TOP + PLOT_HEIGHT + BOTTOM;

  const out = [];
  const add = (s) => out.push(s);
  add(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${esc(FONT)}">`);
  add(`<rect width="100%" height="100%" fill="#fff"/>`);
  add(`<text x="${LEFT}" y="30" font-size="18" font-weight="bold" fill="#111">node-uring and peers, as a ratio to node:http</text>`);
  sub.forEach((line, i) => add(`<text x="${LEFT}" y="${50 + 16 * i}" font-size="12" fill="#444">${esc(line)}</text>`));

  // Legend: a swatch per server, then what solid and light bars mean.
  let lx = LEFT;
  for (const s of serverNames) {
    add(`<rect x="${lx}" y="80" width="12" height="12" fill="${color(s)}"/>`);
    add(`<text x="${lx + 17}" y="90.5" font-size="12" fill="#222">${esc(s)}</text>`);
    lx += 32 + s.length * 6.8;
  }
  add(`<text x="${LEFT}" y="112" font-size="11" fill="#555">solid: measured ratio · ` +
    `light: projected (node:http's busiest-thread CPU per request over the server's)</text>`);

  // Grid, y axis and its label.
  for (let v = 0; v <= top + 1e-9; v += step) {
    add(`<line x1="${LEFT}" x2="${plotRight}" y1="${round(y(v))}" y2="${round(y(v))}" stroke="#e5e7eb"/>`);
    add(`<text x="${LEFT - 8}" y="${round(y(v) + 4)}" font-size="11" fill="#444" text-anchor="end">${+v.toFixed(6)}</text>`);
  }
  add(`<line x1="${LEFT}" x2="${LEFT}" y1="${PLOT_TOP}" y2="${PLOT_TOP + PLOT_HEIGHT}" stroke="#444"/>`);
  add(`<line x1="${LEFT}" x2="${plotRight}" y1="${PLOT_TOP + PLOT_HEIGHT}" y2="${PLOT_TOP + PLOT_HEIGHT}" stroke="#444"/>`);
  const mid = PLOT_TOP + PLOT_HEIGHT / 2;
  add(`<text x="22" y="${mid}" font-size="12" fill="#222" text-anchor="middle" transform="rotate(-90 22 ${mid})">× node:http</text>`);

  // node:http's own level, under the bars.
  add(`<line x1="${LEFT}" x2="${plotRight}" y1="${round(y(1))}" y2="${round(y(1))}" stroke="#111" stroke-dasharray="6 4"/>`);
  add(`<text x="${plotRight + 6}" y="${round(y(1) + 4)}" font-size="11" fill="#111">node:http = 1.0</text>`);

  // Bars with their values, case names under each group.
  for (const g of groups) {
    for (const { kind, value, r, x: bx } of g.bars) {
      const top = round(y(value));
      const what = kind === 'measured' ? UNITS[r.ratioOf ?? 'rps'].title : 'projected';
      add(`<rect class="bar ${kind}" data-server="${esc(r.server)}" x="${round(bx)}" y="${top}" width="${BAR}" ` +
        `height="${round(PLOT_TOP + PLOT_HEIGHT - top)}" fill="${color(r.server)}"${kind === 'projected' ? ' fill-opacity="0.35"' : ''}>` +
        `<title>${esc(`${r.case} ${r.server}: ${label(value, r.ratioOf)} (${what})`)}</title></rect>`);
      add(`<text x="${round(bx + BAR / 2)}" y="${top - 4}" font-size="9" text-anchor="middle" paint-order="stroke" stroke="#fff" stroke-width="3" ` +
        `fill="${kind === 'measured' ? '#111' : '#777'}">${label(value, r.ratioOf)}</text>`);
    }
    const base = PLOT_TOP + PLOT_HEIGHT;
    add(`<text x="${round(g.mid)}" y="${base + 20}" font-size="13" fill="#111" text-anchor="middle">${esc(g.name)}</text>`);
    add(`<text x="${round(g.mid)}" y="${base + 36}" font-size="10" fill="#666" text-anchor="middle">` +
      `${g.units.group}</text>`);
  }
  add('</svg>');
  return out.join('\n') + '\n';
}

module.exports = { svgChart, esc };
