'use strict';

// `node bench`'s ring group: Ring against fs.promises on the same files.
// Each measurement runs in a child process of its own (this file, with
// arguments), so that its CPU time is its own; the parent reads
// /proc/PID/stat of the child around the measured window.
//
//   node bench/ring.js <case> <impl> <dir> <seconds>
//     case  random4k    4 KiB reads at random 4 KiB-aligned offsets of one
//                       64 MiB file (page cache warm), 64 in flight
//           smallfiles  read whole 4 KiB files (open, read, close), 32 at once
//     impl  ring | fs
// prints one JSON line: { ops, seconds }.

const fs = require('node:fs');
const path = require('node:path');

const BIG_FILE = 'big-64m.bin';
const BIG_SIZE = 64 << 20;
const SMALL_COUNT = 256;
const SMALL_SIZE = 4096;
const BLOCK = 4096;
const IN_FLIGHT = { random4k: 64, smallfiles: 32 };

// The files every run reads, made once per bench run, then read through
// once so that the page cache holds them.
function prepareFiles(dir) {
  const big = path.join(dir, BIG_FILE);
  if (!fs.existsSync(big)) {
    const fd = fs.openSync(big, 'w');
    const chunk = Buffer.alloc(1 << 20);
    for (let off = 0; off < BIG_SIZE; off += chunk.length) {
      for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((off + i) >>> 0, i);
      fs.writeSync(fd, chunk, 0, chunk.length, off);
    }
    fs.closeSync(fd);
    for (let i = 0; i < SMALL_COUNT; i++) {
      fs.writeFileSync(path.join(dir, `small-${i}.bin`), Buffer.alloc(SMALL_SIZE, i & 0xff));
    }
  }
  fs.readFileSync(big);
  for (let i = 0; i < SMALL_COUNT; i++) fs.readFileSync(path.join(dir, `small-${i}.bin`));
}

// What each implementation does for one operation of each case.
function makeImpl(name, dir) {
  if (name === 'ring') {
    const { Ring } = require('..');
    const ring = new Ring({ entries: 128 });
    const buf = Buffer.alloc(SMALL_SIZE * 2);
    return {
      open: () => ring.open(path.join(dir, BIG_FILE)),
      read: (fd, b, pos) => ring.read(fd, b, 0, BLOCK, pos),
      async readFile(file) {
        const fd = await ring.open(file);
        let size = 0;
        for (let n; (n = await ring.read(fd, buf, size, buf.length - size, size)) > 0;) size += n;
        await ring.close(fd);
        return size;
      },
      close: () => ring.close(),
    };
  }
  const fsp = fs.promises;
  return {
    open: () => fsp.open(path.join(dir, BIG_FILE)),
    read: async (fh, b, pos) => (await fh.read(b, 0, BLOCK, pos)).bytesRead,
    readFile: async (file) => (await fsp.readFile(file)).length,
    close: async () => {},
  };
}

async function runCase(caseName, implName, dir, seconds) {
  const impl = makeImpl(implName, dir);
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const smallFiles = Array.from({ length: SMALL_COUNT }, (_, i) => path.join(dir, `small-${i}.bin`));
  const handle = caseName === 'random4k' ? await impl.open() : null;
  let ops = 0;

  async function loop(worker) {
    const b = Buffer.alloc(BLOCK);
    let i = worker;
    while (process.hrtime.bigint() < deadline) {
      for (let k = 0; k < 64; k++) { // check the clock once per 64 operations
        if (caseName === 'random4k') {
          const n = await impl.read(handle, b, Math.floor(Math.random() * (BIG_SIZE / BLOCK)) * BLOCK);
          if (n !== BLOCK) throw new Error(`short read: ${n}`);
        } else {
          const n = await impl.readFile(smallFiles[i++ % SMALL_COUNT]);
          if (n !== SMALL_SIZE) throw new Error(`short file: ${n}`);
        }
        ops++;
      }
    }
  }

  process.send?.('start');
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: IN_FLIGHT[caseName] }, (_, w) => loop(w)));
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  if (handle !== null && typeof handle !== 'number') await handle.close();
  await impl.close();
  return { ops, seconds: elapsed };
}

if (require.main === module) {
  const [caseName, implName, dir, seconds] = process.argv.slice(2);
  if (!IN_FLIGHT[caseName] || !['ring', 'fs'].includes(implName) || !dir) {
    console.error('usage: node bench/ring.js random4k|smallfiles ring|fs <dir> <seconds>');
    process.exit(2);
  }
  runCase(caseName, implName, dir, Number(seconds) || 5).then((r) => {
    console.log(JSON.stringify(r));
  }, (err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { prepareFiles, CASES: Object.keys(IN_FLIGHT), IMPLS: ['ring', 'fs'] };
