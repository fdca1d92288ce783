'use strict';

// Medians over repeats, ratios to node:http (to fs.promises for the ring
// group; and to a peer, nginx, where a case names one), and the stdout
// tables.

function median(values) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// What a run measures: throughput under load, or (the idle cases) memory
// with many idle connections open.
const METRICS = {
  rps: ['rps', 'bytesPerSec', 'p50', 'p99', 'rssMb', 'cpuUsPerReq', 'busiestUsPerReq', 'otherCpus', 'loadBefore'],
  rss: ['rssMb', 'rssBeforeMb', 'kbPerConn', 'open'],
  ops: ['opsPerSec', 'cpuUsPerOp', 'rssMb'],
  msgs: ['messagesPerSec', 'p50', 'p99', 'rssMb', 'cpuUsPerMsg', 'busiestUsPerMsg', 'clientCpus', 'otherCpus',
    'loadBefore', 'errors'],
};

// Each metric's median over one case-and-server's runs; ratioOf is 'rps',
// 'rss', 'ops' or 'msgs' (see addRatios).
function medians(runs, ratioOf = 'rps') {
  return Object.fromEntries(METRICS[ratioOf].map((k) => [k, median(runs.map((r) => r[k]))]));
}

// The server every handler case also compares with ("vs uws"): the
// fastest Node server there is.
const RIVAL = 'uws';

// Adds to each result its ratios to its baseline's result in the same case
// (r.baseline: node:http, or a node:http flavour such as node-static, or
// fs for the ring group; node or fs in reports that did not name it).
// ratioOf 'rps': req/s over node's (higher is better), and "projected",
// node's busiest-thread µs/req over this one's (what the ratio would be if
// each server thread had a core of its own); and, where the case names a
// peer (r.peer), peerRatio: req/s over the peer's. ratioOf 'rss': RSS over
// node's (lower is better), no projection. ratioOf 'ops' (the ring group):
// operations per second over fs.promises', no projection. And where the
// rival ran the same case: rivalRatio, req/s over its (RSS over its in the
// memory case), and rivalCpu, CPU µs/req over its (lower is better).
// ratioOf 'msgs' (the WebSocket cases): messages/s over the baseline's (the
// ws package) and over the case's own rival (r.rival, uWebSockets.js's
// WebSocket server), CPU µs/msg over the rival's; no projection.
// busy: some run of it had other processes using the machine.
function addRatios(results) {
  const find = (kase, server) => results.find((n) => n.case === kase && n.server === server);
  for (const r of results) {
    const node = find(r.case, r.baseline ?? (r.ratioOf === 'ops' ? 'fs' : 'node'));
    const peer = r.peer && find(r.case, r.peer);
    const rival = find(r.case, r.rival ?? RIVAL);
    r.peerRatio = peer ? r.median.rps / peer.median.rps : null;
    r.busy = r.runs?.some((run) => run.busy) ?? false;
    if (r.ratioOf === 'msgs') {
      r.ratio = node ? r.median.messagesPerSec / node.median.messagesPerSec : null;
      r.rivalRatio = rival ? r.median.messagesPerSec / rival.median.messagesPerSec : null;
      r.rivalCpu = rival ? r.median.cpuUsPerMsg / rival.median.cpuUsPerMsg : null;
      r.projected = null;
      continue;
    }
    r.rivalRatio = rival ? (r.ratioOf === 'rss' ? r.median.rssMb / rival.median.rssMb : r.median.rps / rival.median.rps) : null;
    r.rivalCpu = rival && r.ratioOf === 'rps' ? r.median.cpuUsPerReq / rival.median.cpuUsPerReq : null;
    if (r.ratioOf === 'ops') {
      r.ratio = node ? r.median.opsPerSec / node.median.opsPerSec : null;
      r.projected = null;
    } else if (r.ratioOf === 'rss') {
      r.ratio = node ? r.median.rssMb / node.median.rssMb : null;
      r.projected = null;
    } else {
      r.ratio = node ? r.median.rps / node.median.rps : null;
      r.projected = node ? node.median.busiestUsPerReq / r.median.busiestUsPerReq : null;
    }
  }
}

// A server's name, marked "!" where some run of it was taken on a busy
// machine.
const serverCell = (r) => (r.busy ? `${r.server} !` : r.server);

const THROUGHPUT_COLUMNS = [
  ['case', (r) => r.case],
  ['server', serverCell],
  ['req/s', (r) => fixed(r.median.rps, 0)],
  ['p50 ms', (r) => fixed(r.median.p50, 2)],
  ['p99 ms', (r) => fixed(r.median.p99, 2)],
  ['RSS MB', (r) => fixed(r.median.rssMb, 1)],
  ['CPU µs/req', (r) => fixed(r.median.cpuUsPerReq, 1)],
  ['busiest µs/req', (r) => fixed(r.median.busiestUsPerReq, 1)],
  ['vs node', (r) => fixed(r.ratio, 2)],
  ['projected', (r) => fixed(r.projected, 2)],
];

// The handler cases, where the rival runs too.
const RIVAL_COLUMNS = [
  ...THROUGHPUT_COLUMNS,
  [`vs ${RIVAL}`, (r) => fixed(r.rivalRatio, 2)],
  [`CPU vs ${RIVAL}`, (r) => fixed(r.rivalCpu, 2)],
];

// The framework cases: each server's ratios are to the same framework on
// node:http (its baseline).
const FRAMEWORK_COLUMNS = THROUGHPUT_COLUMNS.map(([title, cell]) => [title === 'vs node' ? 'vs node:http' : title, cell]);

// Cases with a peer: the same, with MiB/s (heads included) and the ratio
// to the peer.
function peerColumns(peer) {
  const [caseCol, serverCol, rpsCol, ...rest] = THROUGHPUT_COLUMNS;
  return [
    caseCol, serverCol, rpsCol,
    ['MiB/s', (r) => fixed(r.median.bytesPerSec / 2 ** 20, r.median.bytesPerSec < 2 ** 24 ? 1 : 0)],
    ...rest,
    [`vs ${peer}`, (r) => fixed(r.peerRatio, 2)],
  ];
}

const MEMORY_COLUMNS = [
  ['case', (r) => r.case],
  ['server', serverCell],
  ['open conns', (r) => fixed(r.median.open, 0)],
  ['RSS MB', (r) => fixed(r.median.rssMb, 1)],
  ['at start MB', (r) => fixed(r.median.rssBeforeMb, 1)],
  ['KB/conn', (r) => fixed(r.median.kbPerConn, 2)],
  ['RSS vs node', (r) => fixed(r.ratio, 2)],
  [`RSS vs ${RIVAL}`, (r) => fixed(r.rivalRatio, 2)],
];

// The WebSocket cases: their baseline is ws on node:http, their rival
// uWebSockets.js's WebSocket server.
const WS_COLUMNS = [
  ['case', (r) => r.case],
  ['server', serverCell],
  ['msgs/s', (r) => fixed(r.median.messagesPerSec, 0)],
  ['p50 ms', (r) => fixed(r.median.p50, 2)],
  ['p99 ms', (r) => fixed(r.median.p99, 2)],
  ['RSS MB', (r) => fixed(r.median.rssMb, 1)],
  ['CPU µs/msg', (r) => fixed(r.median.cpuUsPerMsg, 2)],
  ['busiest µs/msg', (r) => fixed(r.median.busiestUsPerMsg, 2)],
  ['client CPUs', (r) => fixed(r.median.clientCpus, 2)],
  ['errors', (r) => fixed(r.median.errors, 0)],
  ['vs ws', (r) => fixed(r.ratio, 2)],
  ['vs uws', (r) => fixed(r.rivalRatio, 2)],
  ['CPU vs uws', (r) => fixed(r.rivalCpu, 2)],
];

const RING_COLUMNS = [
  ['case', (r) => r.case],
  ['with', (r) => (r.server === 'fs' ? 'fs.promises' : 'Ring')],
  ['ops/s', (r) => fixed(r.median.opsPerSec, 0)],
  ['CPU µs/op', (r) => fixed(r.median.cpuUsPerOp, 2)],
  ['RSS MB', (r) => fixed(r.median.rssMb, 1)],
  ['vs fs', (r) => fixed(r.ratio, 2)],
];

function fixed(n, digits) {
  return n == null || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

// Text columns left-aligned, numbers right-aligned.
function layout(columns, results) {
  const rows = [columns.map(([title]) => title), ...results.map((r) => columns.map(([, cell]) => cell(r)))];
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows
    .map((row) => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '))
    .join('\n');
}

// The throughput table, then one per peer (its cases, with MiB/s and the
// ratio to it), then the memory one (RSS with idle connections open, where
// the ratio is RSS and lower is better), then the ring group's, each when
// it has rows.
function table(results) {
  const throughput = results.filter((r) => (r.ratioOf ?? 'rps') === 'rps');
  const memory = results.filter((r) => r.ratioOf === 'rss');
  const ring = results.filter((r) => r.ratioOf === 'ops');
  const ws = results.filter((r) => r.ratioOf === 'msgs');
  const parts = [];
  const plain = throughput.filter((r) => !r.peer && !r.framework);
  const frameworks = throughput.filter((r) => r.framework);
  if (plain.length) {
    const rivalRan = plain.some((r) => r.rivalRatio != null);
    parts.push(layout(rivalRan ? RIVAL_COLUMNS : THROUGHPUT_COLUMNS, plain));
  }
  if (frameworks.length) {
    parts.push('Frameworks, the same app on node-uring and on node:http ("vs node:http": req/s over the same\n' +
      "framework's on node:http; \"projected\": its busiest-thread µs/req over this one's):\n" +
      layout(FRAMEWORK_COLUMNS, frameworks));
  }
  for (const peer of new Set(throughput.map((r) => r.peer).filter(Boolean))) {
    parts.push(`Against ${peer} too ("vs ${peer}": req/s over ${peer}'s in the same case):\n` +
      layout(peerColumns(peer), throughput.filter((r) => r.peer === peer)));
  }
  if (memory.length) {
    parts.push('Memory with idle keep-alive connections open ("RSS vs node": lower is better):\n' +
      layout(MEMORY_COLUMNS, memory));
  }
  if (ws.length) {
    parts.push('WebSockets, under bench/wsload ("vs ws": msgs/s over the ws package\'s on node:http; "vs uws": over' +
      " uWebSockets.js's;\nws-broadcast: deliveries to subscribers):\n" + layout(WS_COLUMNS, ws));
  }
  if (ring.length) {
    parts.push('The ring group: Ring against fs.promises on the same files (CPU: the whole process):\n' +
      layout(RING_COLUMNS, ring));
  }
  return parts.join('\n\n');
}

module.exports = { median, medians, addRatios, table, RIVAL };
