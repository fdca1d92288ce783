'use strict';

// `node bench`: node-uring, node:http and peers side by side under wrk (or
// autocannon when wrk is not installed), plus the memory that idle
// connections cost. Benchmarks are not tests: absolute numbers vary between
// runs and machines; the ratios to node:http in the same run are what we
// compare.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fork } = require('node:child_process');
const { parseArgs } = require('node:util');
const { setTimeout: sleep } = require('node:timers/promises');
const { wrkVersion, wrkArgs, runWrk, parseWrk } = require('./lib/wrk');
const { autocannonVersion, autocannonSkip, runAutocannon } = require('./lib/autocannon');
const { withFds, openIdle, ask } = require('./lib/idle');
const { sampleCpu, cpuDelta, rssMb, CLK_TCK } = require('./lib/proc');
const { medians, addRatios, table } = require('./lib/report');
const { svgChart } = require('./lib/chart');
const ringGroup = require('./ring');

const HOST = '127.0.0.1'; // only ever loopback
const DEFAULT_OUT = path.join(__dirname, 'results', 'latest.json');
const START_TIMEOUT_MS = 10000;
// For the time-left guess: server start and stop, opening and closing the
// idle connections (the load generators say their own).
const IDLE_OVERHEAD_S = 4;

// hello: the cases uring-default runs too (its page is not Hello World, so
// any other body would not compare). fixedConnections: --connections
// leaves it alone. script is wrk's; pipelining and post (a body of that
// many bytes) say the same to autocannon. idle: the memory case, with its
// own client instead of the load generator.
const CASES = {
  'hello-c50': { connections: 50, hello: true },
  'hello-c256': { connections: 256, hello: true, fixedConnections: true },
  pipeline16: { connections: 50, script: 'pipeline16.lua', pipelining: 16 },
  post1k: { connections: 50, script: 'post1k.lua', post: 1024 },
  '64k': { connections: 50, path: '/64k' },
  churn: { connections: 50, headers: ['Connection: close'] },
  idle10k: { connections: 10000, idle: true, fixedConnections: true },
  // The ring group: Ring against fs.promises, no server, no load generator.
  'ring-random4k': { ring: 'random4k', fixedConnections: true },
  'ring-smallfiles': { ring: 'smallfiles', fixedConnections: true },
};

// Who runs the ring group's cases: bench/ring.js with Ring, and with
// fs.promises, the baseline.
const RING_IMPLS = ['ring', 'fs'];

const SERVERS = {
  uring: 'createServer with a JS handler',
  'uring-rings2': 'the same with rings: 2 (two ring threads)',
  'uring-default': "server_listen's built-in page, no handler (hello cases only)",
  node: 'node:http with the same handler as uring',
  fastify: 'fastify with the same routes (a devDependency; skipped when not installed)',
};

const USAGE = `Usage: node bench [options]

Runs each server in its own process on ${HOST} under wrk (-t1), or
autocannon when wrk is not on PATH, for each case, repeat and server in
turn, and prints medians over the repeats. Progress goes to stderr.

Options:
  --quick            1 s runs, 1 repeat, 0.5 s warm-up
  --duration N       seconds measured per run, and seconds idle10k holds its
                     connections idle before reading RSS (whole seconds;
                     default 5)
  --repeat N         runs per case and server (default 3)
  --connections N    connections for the c=50 cases (default 50)
  --cases a,b        cases to run (default all): ${Object.keys(CASES).join(', ')}
  --servers a,b      servers to run (default all): ${Object.keys(SERVERS).join(', ')}
  --json             print the results as JSON instead of the table
  --out FILE         where to write the raw results (default
                     ${path.relative(process.cwd(), DEFAULT_OUT)}), and beside
                     it the chart: same name, .svg
  --help             this text

Servers:
${Object.entries(SERVERS).map(([k, v]) => `  ${k.padEnd(15)}  ${v}`).join('\n')}

The ring group (ring-random4k, ring-smallfiles) runs the Ring API against
fs.promises, not servers: random 4 KiB reads from one 64 MiB file (page
cache warm), 64 in flight, Ring#read vs FileHandle#read; and whole 4 KiB
files read 32 at once, open/read/close vs fs.promises.readFile. Its table
gives operations per second, CPU µs per operation and the ratio to
fs.promises. The files go to a temporary directory, removed afterwards.

Columns: req/s and latency from the load generator; RSS after the run; CPU
µs per request of the whole server process and of its busiest thread (from
/proc/<pid>/stat, over the measured window); "vs node" is req/s over
node:http's; "projected" is node's busiest-thread µs/req over this server's,
the ratio to expect if every server thread had a core of its own.

idle10k measures memory, not speed: a client process opens 10,000
keep-alive connections, one request each, and leaves them idle (servers get
keepAliveTimeout 0 for it); its table gives the server's RSS then, and "RSS
vs node" is RSS over node:http's, where lower is better. It needs a file
descriptor limit above 10,000 (raised with ulimit when the hard limit
allows) and is skipped, saying why, otherwise.

Writes every raw number to the --out file and a chart of the ratios beside
it. Needs wrk (apt-get install wrk) or autocannon (npm install; a
devDependency, which cannot run churn).`;

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

// The load generator: wrk when it is on PATH, else autocannon when it is
// installed, else null. run(kase, url, seconds, { warmup }) resolves wrk's
// numbers (see parseWrk); skip(kase) says why it cannot run a case, or null.
function loadGenerator() {
  const wrk = wrkVersion();
  if (wrk) {
    return {
      name: wrk,
      overheadS: 0.5, // server start and stop
      skip: () => null,
      // wrk's -d takes whole seconds: a shorter warm-up is cut with SIGINT.
      run: (kase, url, seconds, { warmup } = {}) => warmup
        ? runWrk(wrkArgs(kase, url, Math.ceil(seconds)), { stopAfterMs: seconds * 1000, track })
        : runWrk(wrkArgs(kase, url, seconds), { track }).then(parseWrk),
    };
  }
  const autocannon = autocannonVersion();
  if (autocannon) {
    return {
      name: autocannon,
      overheadS: 1.5, // and two node processes that load autocannon
      skip: autocannonSkip,
      run: (kase, url, seconds) => runAutocannon(kase, url, seconds, { track }),
    };
  }
  return null;
}

// Forks bench/servers/<name>.js on a free loopback port and resolves
// { child, port } once it says it is listening. env adds to its
// environment; forkOptions come from withFds.
function startServer(name, { env, forkOptions } = {}) {
  const child = track(fork(path.join(__dirname, 'servers', `${name}.js`), ['0'], {
    ...forkOptions,
    env: { ...process.env, ...env },
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

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGKILL'); // its numbers are taken; nothing to wind down
  });
}

// One measured run of one server in one case: fresh process, warm-up,
// then the load generator for the duration with /proc sampled either side.
async function measure(kase, server, opts) {
  if (kase.idle) return measureIdle(kase, server, opts);
  if (kase.ring) return measureRing(kase, server, opts);
  const { child, port } = await startServer(server);
  try {
    const url = `http://${HOST}:${port}`;
    await opts.load.run(kase, url, opts.warmup, { warmup: true });
    const before = sampleCpu(child.pid);
    const load = await opts.load.run(kase, url, opts.duration);
    const cpu = cpuDelta(before, sampleCpu(child.pid));
    const requests = load.requests || NaN;
    return {
      ...load,
      rssMb: rssMb(child.pid),
      ...cpu,
      cpuUsPerReq: cpu.totalUs / requests,
      busiestUsPerReq: cpu.busiestUs / requests,
    };
  } finally {
    await stop(child);
  }
}

// The memory case: the server's RSS once kase.connections keep-alive
// connections have had a response each and then sat idle for the duration.
// The server runs with keepAliveTimeout 0 so that none is closed meanwhile.
async function measureIdle(kase, server, opts) {
  const forkOptions = opts.idleFork;
  const { child, port } = await startServer(server, { env: { BENCH_KEEP_ALIVE_TIMEOUT: '0' }, forkOptions });
  try {
    const rssBeforeMb = rssMb(child.pid);
    const client = await openIdle(port, kase.connections, { forkOptions, track });
    try {
      await sleep(opts.duration * 1000);
      const rss = rssMb(child.pid);
      const { open } = await ask(client.child, 'count');
      return {
        rssMb: rss,
        rssBeforeMb,
        open,
        failed: client.failed,
        error: client.error,
        kbPerConn: ((rss - rssBeforeMb) * 1024) / open,
      };
    } finally {
      await stop(client.child);
    }
  } finally {
    await stop(child);
  }
}

// One run of the ring group: bench/ring.js in a child, which warms up, says
// start, runs for the duration and sends { ops, seconds }; its CPU time is
// read from /proc on either side of the measured window.
function measureRing(kase, impl, opts) {
  const args = [kase.ring, impl, opts.ringDir, String(opts.duration), String(opts.warmup)];
  const child = track(fork(path.join(__dirname, 'ring.js'), args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  return new Promise((resolve, reject) => {
    let before = null;
    const onExit = (code, signal) => reject(new Error(`bench/ring.js ${args.join(' ')} exited (${code ?? signal})`));
    child.on('message', (msg) => {
      if (msg.start) {
        before = sampleCpu(child.pid);
        return;
      }
      const cpu = cpuDelta(before, sampleCpu(child.pid));
      const { ops, seconds } = msg.result;
      const run = { ops, seconds, opsPerSec: ops / seconds, rssMb: rssMb(child.pid), ...cpu, cpuUsPerOp: cpu.totalUs / ops };
      child.off('exit', onExit);
      stop(child).then(() => resolve(run));
    });
    child.once('exit', onExit);
  });
}

// Every (case, repeat, server) run in order: servers interleave within a
// repeat so that drift on the machine hits them all alike. Also what is
// skipped and why: { case } or { server } and reason.
function plan(opts) {
  const runs = [];
  const skipped = [];
  const servers = opts.servers.filter((server) => {
    const reason = opts.unavailable[server];
    if (reason) skipped.push({ server, reason });
    return !reason;
  });
  for (const name of opts.cases) {
    const kase = { name, ...CASES[name] };
    if (!kase.fixedConnections) kase.connections = opts.connections;
    const reason = kase.ring ? null : kase.idle ? opts.idleFork.skip : opts.load.skip(kase);
    if (reason) {
      skipped.push({ case: name, reason });
      continue;
    }
    const these = kase.ring ? RING_IMPLS : servers.filter((s) => s !== 'uring-default' || kase.hello);
    for (let repeat = 1; repeat <= opts.repeat; repeat++) {
      for (const server of these) runs.push({ kase, server, repeat });
    }
  }
  return { runs, skipped };
}

function formatSeconds(s) {
  s = Math.round(s);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

// Seconds a run should take, for the time-left guess.
function guess({ kase }, opts) {
  if (kase.ring) return opts.warmup + opts.duration + 0.3;
  return kase.idle ? opts.duration + IDLE_OVERHEAD_S : opts.warmup + opts.duration + opts.load.overheadS;
}

async function runAll(runs, opts) {
  const results = new Map(); // "case server" -> { case, server, connections, ratioOf, runs }
  const guesses = runs.map((run) => guess(run, opts));
  const started = Date.now();
  let guessed = 0; // the guesses of the runs done so far, in seconds
  for (const [i, { kase, server, repeat }] of runs.entries()) {
    // What is left, as guessed, scaled by how the guesses did so far.
    const left = guesses.slice(i).reduce((a, b) => a + b, 0) * (i ? (Date.now() - started) / 1000 / guessed : 1);
    console.error(`[${i + 1}/${runs.length}] ${kase.name} ${server} repeat ${repeat}/${opts.repeat}` +
      ` (~${formatSeconds(left)} left)`);
    const run = await measure(kase, server, opts);
    guessed += guesses[i];
    if (run.non2xx || run.socketErrors) {
      console.error(`  warning: ${run.non2xx} non-2xx responses, ${run.socketErrors} socket errors`);
    }
    if (kase.idle && run.open < kase.connections) {
      console.error(`  warning: ${run.open} of ${kase.connections} connections open at the end` +
        ` (${run.failed} failed${run.error ? `, first: ${run.error}` : ''})`);
    }
    const key = `${kase.name} ${server}`;
    if (!results.has(key)) {
      const ratioOf = kase.ring ? 'ops' : kase.idle ? 'rss' : 'rps';
      results.set(key, { case: kase.name, server, connections: kase.connections, ratioOf, runs: [] });
    }
    results.get(key).runs.push(run);
  }
  const list = [...results.values()];
  for (const r of list) r.median = medians(r.runs, r.ratioOf);
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

// Servers that cannot run here, with why. Loading fastify, not only
// finding it, also catches a fastify too new for this Node.
function unavailableServers() {
  try {
    require('fastify');
    return {};
  } catch (err) {
    return {
      fastify: err.code === 'MODULE_NOT_FOUND'
        ? 'fastify is not installed (npm install adds it: it is a devDependency)'
        : `fastify does not load here: ${err.message.split('\n')[0]}`,
    };
  }
}

function notesFor(opts, results, skipped) {
  const notes = skipped.map(({ case: kase, server, reason }) => `${kase ? `case ${kase}` : `server ${server}`} skipped: ${reason}.`);
  if (opts.load.name.startsWith('autocannon') && results.some((r) => r.ratioOf === 'rps')) {
    notes.push('autocannon, one Node process, sends fewer requests than wrk: fast servers may wait on it, which' +
      ' shrinks their ratios; it reports latency in whole milliseconds.');
  }
  if (opts.servers.includes('uring-default') && opts.cases.some((n) => !CASES[n].hello)) {
    notes.push('uring-default serves its built-in HTML page, not "Hello World", and runs the hello cases only.');
  }
  if (results.some((r) => r.runs.some((run) => Number.isNaN(run.p50) || Number.isNaN(run.p99)))) {
    notes.push('wrk printed 0 for some latency percentiles (its histogram bug with pipelining, wg/wrk#236);' +
      ' those runs are left out of the latency medians, "-" where none was left.');
  }
  if (results.some((r) => r.ratioOf === 'rss')) {
    notes.push(`${results.find((r) => r.ratioOf === 'rss').case} measures memory: its ratio is RSS over node:http's, lower is better.`);
  }
  return notes;
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  opts.load = loadGenerator() ?? { name: 'none', overheadS: 0, skip: () => 'neither wrk nor autocannon is installed' };
  opts.unavailable = unavailableServers();
  opts.idleFork = withFds(CASES.idle10k.connections);
  const { runs, skipped } = plan(opts);
  if (opts.load.name === 'none' && opts.cases.some((n) => !CASES[n].idle && !CASES[n].ring)) {
    console.error('node bench: neither wrk nor autocannon is there; install wrk (apt-get install wrk), or run npm install');
    process.exit(1);
  }
  for (const { case: kase, server, reason } of skipped) console.error(`skipping ${kase ?? server}: ${reason}`);
  if (runs.some(({ kase }) => kase.ring)) {
    opts.ringDir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-uring-bench-'));
    console.error('ring group: writing a 64 MiB file and 256 small ones to read');
    ringGroup.prepareFiles(opts.ringDir);
  }
  const started = new Date();
  let results;
  try {
    results = await runAll(runs, opts);
  } finally {
    if (opts.ringDir) fs.rmSync(opts.ringDir, { recursive: true, force: true });
  }
  const notes = notesFor(opts, results, skipped);
  const { load, unavailable, idleFork, ringDir, ...flags } = opts;
  const report = {
    date: started.toISOString(),
    flags: { argv: process.argv.slice(2), ...flags },
    loadGenerator: load.name,
    machine: machine(),
    cases: Object.fromEntries(opts.cases.map((n) => [n, CASES[n]])),
    skipped,
    notes,
    results,
  };
  const svg = path.format({ dir: path.dirname(opts.out), name: path.parse(opts.out).name, ext: '.svg' });
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(svg, svgChart(report));
  if (opts.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(table(results));
    console.log(notes.map((note) => `\nNote: ${note}`).join(''));
    console.log(`${load.name}; ${report.machine.cpu}, ${report.machine.nproc} CPUs, Linux ${report.machine.kernel}; ` +
      `medians of ${opts.repeat} x ${opts.duration} s. Raw numbers: ${path.relative(process.cwd(), opts.out)}; ` +
      `chart: ${path.relative(process.cwd(), svg)}`);
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
