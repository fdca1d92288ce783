'use strict';

// CPU time and memory of a process, from /proc.

const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

// Clock ticks per second, the unit of utime and stime (almost always 100).
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

// utime + stime in µs, and the command name, from a /proc/.../stat file.
// The name is in parentheses and may hold spaces, so split after the last ")".
function readStat(file) {
  const text = fs.readFileSync(file, 'utf8');
  const close = text.lastIndexOf(')');
  const name = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' '); // fields[0] is field 3, state
  const ticks = Number(fields[11]) + Number(fields[12]); // fields 14 and 15
  return { name, us: (ticks * 1e6) / CLK_TCK };
}

// The whole process's CPU time and each thread's, by thread id.
function sampleCpu(pid) {
  const threads = new Map();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.set(tid, readStat(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended between readdir and read
    }
  }
  return { total: readStat(`/proc/${pid}/stat`).us, threads };
}

// CPU used between two samples: in all, and by the busiest thread. A thread
// born in between counts from zero.
function cpuDelta(before, after) {
  let busiest = { name: null, us: 0 };
  for (const [tid, { name, us }] of after.threads) {
    const used = us - (before.threads.get(tid)?.us ?? 0);
    if (used > busiest.us) busiest = { name, us: used };
  }
  return { totalUs: after.total - before.total, busiestUs: busiest.us, busiestThread: busiest.name };
}

// Resident set size in MB.
function rssMb(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

module.exports = { sampleCpu, cpuDelta, rssMb, CLK_TCK };
