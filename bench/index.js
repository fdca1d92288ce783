'use strict';

// `node bench`: node-uring and node:http side by side under wrk.
// Benchmarks are not tests: absolute numbers vary between runs and
// machines; the ratios to node:http in the same run are what we compare.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fork } = require('node:child_process');
const { parseArgs } = require('node:util');
const { wrkVersion, wrkArgs, runWrk, parseWrk } = require('./lib/wrk');
const { sampleCpu, cpuDelta, rssMb, CLK_TCK } = require('./lib/proc');
const { medians, addRatios, table } = require('./lib/report');

const HOST = '127.0.0.1'; // only ever loopback
const DEFAULT_OUT = path.join(__dirname, 'results', 'latest.json');
const START_TIMEOUT_MS = 10000;
const RUN_OVERHEAD_S = 0.5; // server start and stop, for the time-left guess

// hello: the cases uring-default runs too (its page is not Hello World, so
// any other body would not compare). fixedConnections: --connections
// leaves it alone.
const CASES = {
  'hello-c50': { connections: 50, hello: true },
  'hello-c256': { connections: 256, hello: true, fixedConnections: true },
  pipeline16: { connections: 50, script: 'pipeline16.lua' },
  post1k: { connections: 50, script: 'post1k.lua' },
  '64k': { connections: 50, path: '/64k' },
  churn: { connections: 50, headers: ['Connection: close'] },
};

const SERVERS = {
  uring: 'createServer with a JS handler',
  'uring-default': "server_listen's built-in page, no handler (hello cases only)",
  node: 'node:http with the same handler as uring',
};

const USAGE = `Usage: node bench [options]

Runs each server in its own process on ${HOST} under wrk (-t1), for each
case, repeat and server in turn, and prints medians over the repeats.

Options:
  --quick            1 s runs, 1 repeat, 0.5 s warm-up
  --duration N       seconds measured per run (whole seconds; default 5)
  --repeat N         runs per case and server (default 3)
  --connections N    connections for the c=50 cases (default 50)
  --cases a,b        cases to run (default all): ${Object.keys(CASES).join(', ')}
  --servers a,b      servers to run (default all): ${Object.keys(SERVERS).join(', ')}
  --json             print the results as JSON instead of the table
  --out FILE         where to write the raw results (default
                     ${path.relative(process.cwd(), DEFAULT_OUT)})
  --help             this text

Servers:
${Object.entries(SERVERS).map(([k, v]) => `  ${k.padEnd(15)}  ${v}`).join('\n')}

Columns: req/s and latency from wrk --latency; RSS after the run; CPU µs per
request of the whole server process and of its busiest thread (from
/proc/<pid>/stat, over the measured window); "vs node" is req/s over
node:http's; "projected" is node's busiest-thread µs/req over this server's,
the ratio to expect if every server thread had a core of its own.
Writes every raw number to the --out file.
Needs wrk (apt-get install wrk).`;

function usageError(message) {
  console.error(`node bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function positiveInt(name, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) usageError(`--${name} wants a whole number above 0, not "${text}"`);
  return n;
}

// Names from a comma list, each one of known's keys.
function pick(name, text, known) {
  if (text === undefined) return Object.keys(known);
  const names = text.split(',').filter(Boolean);
  for (const n of names) if (!(n in known)) usageError(`unknown ${name} "${n}"`);
  return names;
}

function parseOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' },
        duration: { type: 'string' },
        repeat: { type: 'string' },
        connections: { type: 'string' },
        cases: { type: 'string' },
        servers: { type: 'string' },
        json: { type: 'boolean' },
        out: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    usageError(err.message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = Boolean(values.quick);
  return {
    quick,
    duration: values.duration ? positiveInt('duration', values.duration) : quick ? 1 : 5,
    repeat: values.repeat ? positiveInt('repeat', values.repeat) : quick ? 1 : 3,
    warmup: quick ? 0.5 : 1,
    connections: values.connections ? positiveInt('connections', values.connections) : 50,
    cases: pick('case', values.cases, CASES),
    servers: pick('server', values.servers, SERVERS),
    json: Boolean(values.json),
    out: path.resolve(values.out ?? DEFAULT_OUT),
  };
}

// Every child we started, so that exit, errors and Ctrl-C kill them.
const children = new Set();

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killAll() {
  for (const child of children) child.kill('SIGKILL');
}

// Forks bench/servers/<name>.js on a free loopback port and resolves
// { child, port } once it says it is listening.
function startServer(name) {
  const child = track(fork(path.join(__dirname, 'servers', `${name}.js`), ['0'], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`server ${name} did not start in ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const onExit = (code, signal) => fail(new Error(`server ${name} exited (${code ?? signal}) before listening`));
    function fail(err) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    }
    child.once('exit', onExit);
    child.once('message', (msg) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      if (msg?.ready) resolve({ child, port: msg.port });
      else fail(new Error(`server ${name} said ${JSON.stringify(msg)}`));
    });
  });
}

function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGKILL'); // its numbers are taken; nothing to wind down
  });
}

// One measured run of one server in one case: fresh process, warm-up,
// then wrk for the duration with /proc sampled either side.
async function measure(kase, server, opts) {
  const { child, port } = await startServer(server);
  try {
    const url = `http://${HOST}:${port}`;
    await runWrk(wrkArgs(kase, url, Math.ceil(opts.warmup)), { stopAfterMs: opts.warmup * 1000, track });
    const before = sampleCpu(child.pid);
    const wrk = parseWrk(await runWrk(wrkArgs(kase, url, opts.duration), { track }));
    const cpu = cpuDelta(before, sampleCpu(child.pid));
    const requests = wrk.requests || NaN;
    return {
      ...wrk,
      rssMb: rssMb(child.pid),
      ...cpu,
      cpuUsPerReq: cpu.totalUs / requests,
      busiestUsPerReq: cpu.busiestUs / requests,
    };
  } finally {
    await stopServer(child);
  }
}

// Every (case, repeat, server) run in order: servers interleave within a
// repeat so that drift on the machine hits them all alike.
function plan(opts) {
  const runs = [];
  for (const name of opts.cases) {
    const kase = { name, ...CASES[name] };
    if (!kase.fixedConnections) kase.connections = opts.connections;
    const servers = opts.servers.filter((s) => s !== 'uring-default' || kase.hello);
    for (let repeat = 1; repeat <= opts.repeat; repeat++) {
      for (const server of servers) runs.push({ kase, server, repeat });
    }
  }
  return runs;
}

function formatSeconds(s) {
  s = Math.round(s);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

async function runAll(opts) {
  const runs = plan(opts);
  const perRun = opts.warmup + opts.duration + RUN_OVERHEAD_S;
  const results = new Map(); // "case server" -> { case, server, connections, runs }
  for (const [i, { kase, server, repeat }] of runs.entries()) {
    console.error(`[${i + 1}/${runs.length}] ${kase.name} ${server} repeat ${repeat}/${opts.repeat}` +
      ` (~${formatSeconds((runs.length - i) * perRun)} left)`);
    const run = await measure(kase, server, opts);
    if (run.non2xx || run.socketErrors) {
      console.error(`  warning: ${run.non2xx} non-2xx responses, ${run.socketErrors} socket errors`);
    }
    const key = `${kase.name} ${server}`;
    if (!results.has(key)) results.set(key, { case: kase.name, server, connections: kase.connections, runs: [] });
    results.get(key).runs.push(run);
  }
  const list = [...results.values()];
  for (const r of list) r.median = medians(r.runs);
  addRatios(list);
  return list;
}

function machine() {
  return {
    cpu: os.cpus()[0]?.model,
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    kernel: os.release(),
    node: process.version,
    clkTck: CLK_TCK,
  };
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const wrk = wrkVersion();
  if (!wrk) {
    console.error('node bench: wrk is not on PATH; install it with: apt-get install wrk');
    process.exit(1);
  }
  const started = new Date();
  const results = await runAll(opts);
  const notes = [];
  if (opts.servers.includes('uring-default')) {
    notes.push('uring-default serves its built-in HTML page, not "Hello World", and runs the hello cases only.');
  }
  if (results.some((r) => r.runs.some((run) => Number.isNaN(run.p50) || Number.isNaN(run.p99)))) {
    notes.push('wrk printed 0 for some latency percentiles (its histogram bug with pipelining, wg/wrk#236);' +
      ' those runs are left out of the latency medians, "-" where none was left.');
  }
  const report = {
    date: started.toISOString(),
    flags: { argv: process.argv.slice(2), ...opts },
    wrk,
    machine: machine(),
    cases: Object.fromEntries(opts.cases.map((n) => [n, CASES[n]])),
    notes,
    results,
  };
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(report, null, 2) + '\n');
  if (opts.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(table(results));
    console.log(notes.map((note) => `\nNote: ${note}`).join(''));
    console.log(`${wrk}; ${report.machine.cpu}, ${report.machine.nproc} CPUs, Linux ${report.machine.kernel}; ` +
      `medians of ${opts.repeat} x ${opts.duration} s. Raw numbers: ${path.relative(process.cwd(), opts.out)}`);
  }
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

main().catch((err) => {
  console.error(`node bench: ${err.stack || err}`);
  killAll();
  process.exitCode = 1;
});
