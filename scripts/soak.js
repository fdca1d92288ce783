#!/usr/bin/env node
'use strict';

// `npm run soak [-- --minutes N] [-- --connections N]`: a node-uring server
// (hello world) under wrk on 127.0.0.1 for N minutes (default 5), its RSS
// read every 10 s. Prints the series, and fails when RSS in the last minute
// grew more than 10% past the first minute's peak: a leak, not warm-up.
// Not part of `npm test`: it takes minutes.

const path = require('node:path');
const { fork, spawn } = require('node:child_process');
const { parseArgs } = require('node:util');
const { rssMb } = require('../bench/lib/proc');

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '5' }, connections: { type: 'string', default: '50' } },
});
const minutes = Number(values.minutes);
const connections = Number(values.connections);
const SAMPLE_MS = 10000;

function startServer() {
  const child = fork(path.join(__dirname, '..', 'bench', 'servers', 'uring.js'), ['0'], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (msg) => resolve({ child, port: msg.port }));
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
}

async function main() {
  const { child, port } = await startServer();
  const seconds = Math.round(minutes * 60);
  const wrk = spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}/`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let report = '';
  wrk.stdout.on('data', (d) => (report += d));
  wrk.on('error', (err) => {
    console.error(`npm run soak: cannot run wrk (${err.message}); apt-get install wrk`);
    process.exit(1);
  });
  const series = [];
  const start = Date.now();
  const timer = setInterval(() => {
    const mb = rssMb(child.pid);
    series.push(mb);
    console.log(`${String(Math.round((Date.now() - start) / 1000)).padStart(4)} s  RSS ${mb.toFixed(1)} MB`);
  }, SAMPLE_MS);
  await new Promise((resolve) => wrk.on('exit', resolve));
  clearInterval(timer);
  child.kill('SIGKILL');
  const perMinute = 60000 / SAMPLE_MS;
  const firstPeak = Math.max(...series.slice(0, perMinute));
  const lastPeak = Math.max(...series.slice(-perMinute));
  const requests = /(\d+) requests in/.exec(report)?.[1];
  console.log(`\n${requests} requests in ${seconds} s; RSS first minute peak ${firstPeak.toFixed(1)} MB, ` +
    `last minute peak ${lastPeak.toFixed(1)} MB (${((lastPeak / firstPeak - 1) * 100).toFixed(1)}%)`);
  if (minutes >= 2 && lastPeak > firstPeak * 1.1) {
    console.error('RSS grew more than 10% after the first minute: a leak?');
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
