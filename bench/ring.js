'use strict';

// `node bench`'s ring group: Ring against fs.promises on the same files.
// Each measurement runs in a child process of its own (this file, with
// arguments), so that its CPU time is its own: the child warms up, says
// 'start', runs the measured window, sends its result, and waits for the
// parent to read /proc/PID/stat once more and kill it.
//
//   node bench/ring.js <case> <impl> <dir> <seconds> [<warm-up seconds>]
//     case  random4k    4 KiB reads at random 4 KiB-aligned offsets of one
//                       64 MiB file (page cache warm), 64 in flight
//           smallfiles  read whole 4 KiB files (open, read, close), 32 at once
//     impl  ring | fs
// Run by hand (no parent), it prints { ops, seconds } as JSON.

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
    return {
      open: () => ring.open(path.join(dir, BIG_FILE)),
      read: (fd, b, pos) => ring.read(fd, b, 0, BLOCK, pos),
      // As fs.promises.readFile does, a buffer of its own per file.
      async readFile(file) {
        const buf = Buffer.allocUnsafe(SMALL_SIZE * 2);
        const fd = await ring.open(file);
        let size = 0;
        for (let n; (n = await ring.read(fd, buf, size, buf.length - size, size)) > 0;) size += n;
        await ring.close(fd);
        return size;
      },
      closeFile: (fd) => ring.close(fd),
      close: () => ring.close(),
    };
  }
  const fsp = fs.promises;
  return {
    open: () => fsp.open(path.join(dir, BIG_FILE)),
    read: async (fh, b, pos) => (await fh.read(b, 0, BLOCK, pos)).bytesRead,
    readFile: async (file) => (await fsp.readFile(file)).length,
    closeFile: (fh) => fh.close(),
    close: async () => {},
  };
}

// Runs caseName with impl for seconds; returns { ops, seconds }.
async function runFor(impl, caseName, dir, seconds) {
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

  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: IN_FLIGHT[caseName] }, (_, w) => loop(w)));
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  if (handle !== null) await impl.closeFile(handle);
  return { ops, seconds: elapsed };
}

async function main([caseName, implName, dir, seconds, warmup]) {
  const impl = makeImpl(implName, dir);
  if (Number(warmup) > 0) await runFor(impl, caseName, dir, Number(warmup));
  process.send?.({ start: true });
  const result = await runFor(impl, caseName, dir, Number(seconds) || 5);
  if (process.send) process.send({ result }); // and the parent kills us
  else console.log(JSON.stringify(result));
  await impl.close();
}

if (require.main === module) {
  const [caseName, implName, dir] = process.argv.slice(2);
  if (!IN_FLIGHT[caseName] || !['ring', 'fs'].includes(implName) || !dir) {
    console.error('usage: node bench/ring.js random4k|smallfiles ring|fs <dir> <seconds> [<warm-up seconds>]');
    process.exit(2);
  }
  main(process.argv.slice(2)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { prepareFiles, CASES: Object.keys(IN_FLIGHT), IMPLS: ['ring', 'fs'] };
