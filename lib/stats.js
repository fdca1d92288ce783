'use strict';

// Stats: what ring.statx() resolves to, the main fields of fs.Stats read
// from the kernel's struct statx (linux/stat.h).
const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK } =
  require('node:fs').constants;

const STATX_SIZE = 256; // sizeof(struct statx)
const STATX_MASK = 0x7ff | 0x800; // STATX_BASIC_STATS | STATX_BTIME

// dev_t from a major and minor number, as glibc's makedev() builds it.
function makedev(major, minor) {
  return (major & 0xfffff000) * 2 ** 32 + ((minor & 0xffffff00) >>> 0) * 2 ** 12 +
    (major & 0xfff) * 2 ** 8 + (minor & 0xff);
}

// A struct statx_timestamp at off, in milliseconds since the epoch.
function timeMs(view, off) {
  return Number(view.getBigInt64(off, true)) * 1000 + view.getUint32(off + 8, true) / 1e6;
}

class Stats {
  constructor(buf) {
    const v = new DataView(buf.buffer, buf.byteOffset, STATX_SIZE);
    const u64 = (off) => Number(v.getBigUint64(off, true));
    this.dev = makedev(v.getUint32(136, true), v.getUint32(140, true));
    this.mode = v.getUint16(28, true);
    this.nlink = v.getUint32(16, true);
    this.uid = v.getUint32(20, true);
    this.gid = v.getUint32(24, true);
    this.rdev = makedev(v.getUint32(128, true), v.getUint32(132, true));
    this.blksize = v.getUint32(4, true);
    this.ino = u64(32);
    this.size = u64(40);
    this.blocks = u64(48);
    this.atimeMs = timeMs(v, 64);
    this.mtimeMs = timeMs(v, 112);
    this.ctimeMs = timeMs(v, 96);
    // 0 when the file system does not record it (STATX_BTIME left unset).
    this.birthtimeMs = (v.getUint32(0, true) & 0x800) ? timeMs(v, 80) : 0;
    this.atime = new Date(this.atimeMs);
    this.mtime = new Date(this.mtimeMs);
    this.ctime = new Date(this.ctimeMs);
    this.birthtime = new Date(this.birthtimeMs);
  }

  isFile() { return (this.mode & S_IFMT) === S_IFREG; }
  isDirectory() { return (this.mode & S_IFMT) === S_IFDIR; }
  isSymbolicLink() { return (this.mode & S_IFMT) === S_IFLNK; }
  isFIFO() { return (this.mode & S_IFMT) === S_IFIFO; }
  isSocket() { return (this.mode & S_IFMT) === S_IFSOCK; }
  isCharacterDevice() { return (this.mode & S_IFMT) === S_IFCHR; }
  isBlockDevice() { return (this.mode & S_IFMT) === S_IFBLK; }
}

module.exports = { Stats, STATX_SIZE, STATX_MASK };
