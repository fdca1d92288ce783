'use strict';

// Medians over repeats, ratios to node:http, and the stdout table.

function median(values) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

const METRICS = ['rps', 'p50', 'p99', 'rssMb', 'cpuUsPerReq', 'busiestUsPerReq'];

// Each metric's median over one case-and-server's runs.
function medians(runs) {
  return Object.fromEntries(METRICS.map((k) => [k, median(runs.map((r) => r[k]))]));
}

// Adds to each result its ratios to node:http's result in the same case:
// req/s over node's, and node's busiest-thread µs/req over this one's (what
// the ratio would be if each server thread had a core of its own).
function addRatios(results) {
  for (const r of results) {
    const node = results.find((n) => n.case === r.case && n.server === 'node');
    r.ratio = node ? r.median.rps / node.median.rps : null;
    r.projected = node ? node.median.busiestUsPerReq / r.median.busiestUsPerReq : null;
  }
}

const COLUMNS = [
  ['case', (r) => r.case],
  ['server', (r) => r.server],
  ['req/s', (r) => fixed(r.median.rps, 0)],
  ['p50 ms', (r) => fixed(r.median.p50, 2)],
  ['p99 ms', (r) => fixed(r.median.p99, 2)],
  ['RSS MB', (r) => fixed(r.median.rssMb, 1)],
  ['CPU µs/req', (r) => fixed(r.median.cpuUsPerReq, 1)],
  ['busiest µs/req', (r) => fixed(r.median.busiestUsPerReq, 1)],
  ['vs node', (r) => fixed(r.ratio, 2)],
  ['projected', (r) => fixed(r.projected, 2)],
];

function fixed(n, digits) {
  return n == null || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

// Text columns left-aligned, numbers right-aligned.
function table(results) {
  const rows = [COLUMNS.map(([title]) => title), ...results.map((r) => COLUMNS.map(([, cell]) => cell(r)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows
    .map((row) => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '))
    .join('\n');
}

module.exports = { median, medians, addRatios, table };
