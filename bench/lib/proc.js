'use strict';

// CPU time and memory of a process, from /proc.

const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

// Clock ticks per second, the unit of utime and stime (almost always 100).
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

const ticksToUs = (ticks) => (ticks * 1e6) / CLK_TCK;

// utime + stime in µs (us), cutime + cstime (childrenUs: the children it
// has reaped), and the command name, from a /proc/.../stat file. The name
// is in parentheses and may hold spaces, so split after the last ")".
function readStat(file) {
  const text = fs.readFileSync(file, 'utf8');
  const close = text.lastIndexOf(')');
  const name = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' '); // fields[0] is field 3, state
  return {
    name,
    us: ticksToUs(Number(fields[11]) + Number(fields[12])), // fields 14 and 15
    childrenUs: ticksToUs(Number(fields[13]) + Number(fields[14])), // 16 and 17
  };
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

// The whole machine's busy CPU time in µs (all CPUs, from /proc/stat's cpu
// line: user, nice, system, irq, softirq; guest time is inside user), the
// time the hypervisor gave to others (steal), and this process's own CPU
// with that of its children it has reaped (a finished wrk).
function sampleMachine() {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const self = readStat('/proc/self/stat');
  return {
    busyUs: ticksToUs(user + nice + system + irq + softirq),
    stealUs: ticksToUs(steal || 0),
    selfUs: self.us + self.childrenUs,
  };
}

// How many CPUs' worth of work other processes did between two machine
// samples, given the CPU the measured server used meanwhile (serverUs): the
// machine's busy time less the server's, the bench's and its reaped
// children's, over the wall time; and the hypervisor's steal, likewise.
function otherLoad(before, after, serverUs, wallUs) {
  const others = after.busyUs - before.busyUs - serverUs - (after.selfUs - before.selfUs);
  return { otherCpus: Math.max(0, others) / wallUs, stealCpus: (after.stealUs - before.stealUs) / wallUs };
}

// Resident set size in MB.
function rssMb(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

module.exports = { sampleCpu, cpuDelta, sampleMachine, otherLoad, rssMb, CLK_TCK };
