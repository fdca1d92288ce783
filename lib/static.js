'use strict';

// server.static(): the files under a directory, served to GET and HEAD of
// a URL prefix. Here mounts are checked, and the node backend serves them;
// the ring thread serves the same mounts by itself (openat2 with
// RESOLVE_BENEATH, statx, read), to the same contract: README,
// `server.static()`.
const fs = require('node:fs');
const path = require('node:path');
const { STATUS_CODES } = require('node:http');
const { finished, pipeline } = require('node:stream');
const { codedError } = require('./errors');

// By extension, case-insensitive; anything else is application/octet-stream.
// The ring thread's table (src/static/mime.c) in the same order; a test
// holds the two equal (native.mimeTypes()). A Map, not an object: an
// extension such as "constructor" must not find Object.prototype's.
const CONTENT_TYPES = new Map([
  ['html', 'text/html; charset=utf-8'], ['htm', 'text/html; charset=utf-8'],
  ['css', 'text/css; charset=utf-8'],
  ['js', 'text/javascript; charset=utf-8'], ['mjs', 'text/javascript; charset=utf-8'],
  ['json', 'application/json'], ['map', 'application/json'],
  ['txt', 'text/plain; charset=utf-8'], ['md', 'text/markdown; charset=utf-8'],
  ['csv', 'text/csv; charset=utf-8'], ['xml', 'application/xml'],
  ['svg', 'image/svg+xml'], ['png', 'image/png'], ['jpg', 'image/jpeg'], ['jpeg', 'image/jpeg'],
  ['gif', 'image/gif'], ['webp', 'image/webp'], ['avif', 'image/avif'], ['ico', 'image/x-icon'],
  ['wasm', 'application/wasm'], ['pdf', 'application/pdf'],
  ['woff', 'font/woff'], ['woff2', 'font/woff2'], ['ttf', 'font/ttf'], ['otf', 'font/otf'],
  ['mp4', 'video/mp4'], ['webm', 'video/webm'], ['mp3', 'audio/mpeg'], ['ogg', 'audio/ogg'],
  ['wav', 'audio/wav'], ['zip', 'application/zip'], ['gz', 'application/gzip'],
]);

// open(2) flags: never block on a FIFO (fstat then refuses it), and never
// follow a symlink swapped in after resolveBeneath() looked.
const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW;

// Errors that mean "no such file here". ENXIO: open(2) of a socket;
// EXDEV: a path that leads out of the root (see resolveBeneath()).
const NOT_FOUND = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'ENXIO', 'ENODEV', 'ENAMETOOLONG', 'EXDEV']);

// Symlinks followed in one path before ELOOP, as the kernel's limit.
const MAX_SYMLINKS = 40;

const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/;
const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';
const RANGE = /^bytes=(\d*)-(\d*)$/i; // a range unit is case-insensitive
const NS_PER_SEC = 1000000000n;

// A mount record, { prefix, root }: prefix without its trailing '/'
// (except '/' itself), root the absolute directory.
function makeStatic(urlPrefix, dir) {
  // Printable ASCII only: a request's path is matched byte for byte, and
  // '%' is refused, so nothing else could ever match a client's URL.
  if (typeof urlPrefix !== 'string' || !urlPrefix.startsWith('/') ||
      /[^\x21-\x7e]|[?#%]/.test(urlPrefix) ||
      urlPrefix.split('/').some((s) => s === '.' || s === '..')) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE',
      "The static prefix must start with '/', in printable ASCII without '?', '#' " +
      `or '%', and have no '.' or '..' segment. Received ${String(urlPrefix)}`);
  }
  if (typeof dir !== 'string') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "dir" argument must be of type string');
  }
  const root = path.resolve(dir);
  if (!fs.statSync(root).isDirectory()) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `server.static(): ${root} is not a directory`);
  }
  return { prefix: urlPrefix.replace(/\/+$/, '') || '/', root };
}

// The first mount serving a GET or HEAD of url, or undefined.
function matchStatic(mounts, method, url) {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  const p = url.split('?', 1)[0];
  return mounts.find((m) => (m.prefix === '/' ? p.startsWith('/')
    : p.startsWith(m.prefix) && (p.length === m.prefix.length || p[m.prefix.length] === '/')));
}

// The file that rest (the request path after the prefix) names, as a
// latin1 string (one char per byte: the URL's bytes as the ring thread
// sees them, since node:http decodes the URL as latin1), and whether
// index.html was appended; or the status refusing it.
function relativeFile(rest) {
  if (/%(?![0-9A-Fa-f]{2})/.test(rest)) return 400;
  const decoded = rest.replace(/%([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
  if (decoded.includes('\0')) return 400;
  const segments = decoded.split('/').filter((s) => s !== '');
  for (const s of segments) {
    if (s === '..') return 403;
    if (s.startsWith('.')) return 404; // dotfiles are never served
  }
  const index = decoded === '' || decoded.endsWith('/');
  if (index) segments.push('index.html');
  return { name: segments.join('/'), index };
}

function outside() {
  return codedError(Error, 'EXDEV', 'the path leads out of the static root');
}

// Resolves name (latin1, relative) beneath the directory root (a Buffer,
// no symlink in it) as openat2(RESOLVE_BENEATH) does on the ring thread:
// a symlink is followed while it stays beneath root, and an absolute one,
// or a '..' above root, is refused with EXDEV. Returns the path, symlinks
// resolved, as a Buffer.
async function resolveBeneath(root, name) {
  const pending = name.split('/');
  const done = [];
  let links = 0;
  const pathOf = (parts) => Buffer.from(`/${parts.join('/')}`, 'latin1');
  while (pending.length > 0) {
    const part = pending.shift();
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (done.length === 0) throw outside();
      done.pop();
      continue;
    }
    const file = Buffer.concat([root, pathOf([...done, part])]);
    if (!(await fs.promises.lstat(file)).isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw codedError(Error, 'ELOOP', 'too many symbolic links');
    const target = (await fs.promises.readlink(file, { encoding: 'buffer' })).toString('latin1');
    if (target.startsWith('/')) throw outside();
    pending.unshift(...target.split('/'));
  }
  return Buffer.concat([root, pathOf(done)]);
}

// Opens the file beneath root: resolves to a FileHandle, or rejects with
// an fs error.
async function openBeneath(root, name) {
  const rootReal = await fs.promises.realpath(root, { encoding: 'buffer' });
  return fs.promises.open(await resolveBeneath(rootReal, name), OPEN_FLAGS);
}

function errorStatus(err) {
  if (NOT_FOUND.has(err.code)) return 404;
  return err.code === 'EACCES' ? 403 : 500;
}

// 301, 400, 403, 404, 416, 500: the status text as a short plain body.
function sendError(req, res, status, headers) {
  const body = STATUS_CODES[status];
  res.writeHead(status, {
    ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

// Seconds since the epoch of an IMF-fixdate, or undefined. Second 60 is
// a leap second (the next minute's first); a day the month does not have
// (30 Feb) makes the date invalid, as does anything but the fixed format.
function parseHttpDate(value) {
  const m = value === undefined ? null : IMF_FIXDATE.exec(value);
  if (m === null) return undefined;
  const [day, year, hour, min, sec] = [m[1], m[3], m[4], m[5], m[6]].map(Number);
  if (hour > 23 || min > 59 || sec > 60) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, MONTHS.indexOf(m[2]) / 3, day);
  if (date.getUTCDate() !== day) return undefined; // 00, or past the month's end
  date.setUTCHours(hour, min, sec);
  return date.getTime() / 1000;
}

// Optional whitespace around a list member (RFC 9110 5.6.3): spaces and
// tabs only, as the ring thread trims it; String#trim() would take more.
const OWS = /^[ \t]+|[ \t]+$/g;

// Whether an If-None-Match list (RFC 9110 13.1.2) names etag, weakly: a
// member is the text between commas, without its OWS and a W/ prefix.
function etagListed(list, etag) {
  return list.split(',').some((member) => {
    const t = member.replace(OWS, '');
    return t === '*' || (t.startsWith('W/') ? t.slice(2) : t) === etag;
  });
}

// If-None-Match, else If-Modified-Since, says the client's copy is current.
function notModified(headers, etag, mtimeSec, lastModified) {
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) return etagListed(ifNoneMatch, etag);
  const since = parseHttpDate(headers['if-modified-since']);
  return since !== undefined && lastModified !== undefined && mtimeSec <= since;
}

// The byte range a GET asks for, as [first, last] (BigInts): undefined
// to send the whole file, null for 416.
function byteRange(headers, size, etag, lastModified) {
  const m = RANGE.exec(headers.range ?? '');
  if (m === null || (m[1] === '' && m[2] === '')) return undefined;
  const ifRange = headers['if-range'];
  if (ifRange !== undefined && ifRange !== etag && ifRange !== lastModified) return undefined;
  if (m[1] === '') { // the last S bytes
    const suffix = BigInt(m[2]);
    if (suffix === 0n || size === 0n) return null;
    return [suffix < size ? size - suffix : 0n, size - 1n];
  }
  const first = BigInt(m[1]);
  const last = m[2] === '' ? undefined : BigInt(m[2]);
  if (last !== undefined && first > last) return undefined;
  if (first >= size) return null;
  return [first, last !== undefined && last < size ? last : size - 1n];
}

// The Content-Type of the file name, by its extension.
function contentType(name) {
  const dot = name.lastIndexOf('.');
  const ext = dot > name.lastIndexOf('/') ? name.slice(dot + 1).toLowerCase() : '';
  return CONTENT_TYPES.get(ext) ?? 'application/octet-stream';
}

// An mtime (BigInt seconds) as an IMF-fixdate, or undefined outside the
// years 0 to 9999, which the format cannot write.
function httpDate(sec) {
  const date = new Date(Number(sec) * 1000);
  const year = date.getUTCFullYear();
  return year >= 0 && year <= 9999 ? date.toUTCString() : undefined;
}

// Answers with the file open on handle, which it closes when done.
function sendFile(req, res, handle, st, name) {
  let sec = st.mtimeNs / NS_PER_SEC;
  let nsec = st.mtimeNs % NS_PER_SEC;
  if (nsec < 0n) [sec, nsec] = [sec - 1n, nsec + NS_PER_SEC]; // before 1970
  const etag = `"${st.size.toString(16)}-${sec.toString(16)}.${nsec.toString(16)}"`;
  const lastModified = httpDate(sec);
  const validators = { ETag: etag, ...(lastModified && { 'Last-Modified': lastModified }) };
  if (notModified(req.headers, etag, sec, lastModified)) {
    res.writeHead(304, validators);
    res.end();
    closeQuietly(handle);
    return;
  }
  const range = req.method === 'GET' ? byteRange(req.headers, st.size, etag, lastModified) : undefined;
  if (range === null) {
    sendError(req, res, 416, { 'Content-Range': `bytes */${st.size}` });
    closeQuietly(handle);
    return;
  }
  const [first, last] = range ?? [0n, st.size - 1n];
  res.writeHead(range ? 206 : 200, {
    'Content-Type': contentType(name),
    'Content-Length': String(last - first + 1n),
    ...validators,
    'Accept-Ranges': 'bytes',
    ...(range && { 'Content-Range': `bytes ${first}-${last}/${st.size}` }),
  });
  if (req.method === 'HEAD' || last < first) {
    res.end();
    closeQuietly(handle);
    return;
  }
  // node:http says nothing to a pipelined response whose connection went
  // before its turn came, but its request closes.
  if (req.socket.destroyed) {
    res.destroy();
    closeQuietly(handle);
    return;
  }
  const expected = Number(last - first + 1n);
  const stream = handle.createReadStream({ start: Number(first), end: Number(last) });
  req.once('close', () => {
    if (req.socket.destroyed) stream.destroy();
  });
  // A file that shrank since fstat: the response cannot be completed.
  stream.once('end', () => {
    if (stream.bytesRead < expected) res.destroy();
  });
  pipeline(stream, res, (err) => {
    if (err) res.destroy();
  });
}

function closeQuietly(handle) {
  handle.close().catch(() => {});
}

// Answers req with the file that mount serves for it, or an error status.
async function answerStatic(mount, req, res) {
  const url = req.url;
  const query = url.indexOf('?');
  const reqPath = query < 0 ? url : url.slice(0, query);
  const rest = mount.prefix === '/' ? reqPath : reqPath.slice(mount.prefix.length);
  // A directory's URL: the path as received, '/' added, then any query;
  // its leading slashes made one, or '//host/' would lead to another host.
  const slashed = { Location: `${reqPath.replace(/^\/+/, '/')}/${query < 0 ? '' : url.slice(query)}` };
  // "/static" is "/static/" to the relative links of its index.html.
  if (rest === '' && mount.prefix !== '/') return sendError(req, res, 301, slashed);
  const file = relativeFile(rest);
  if (typeof file === 'number') return sendError(req, res, file);
  let handle;
  try {
    handle = await openBeneath(mount.root, file.name);
    const st = await handle.stat({ bigint: true });
    if (st.isDirectory() && !file.index) return sendError(req, res, 301, slashed);
    if (!st.isFile()) return sendError(req, res, 404); // FIFOs, sockets, devices; an index.html that is a directory
    const owned = handle;
    handle = undefined; // sendFile() closes it
    return sendFile(req, res, owned, st, file.name);
  } catch (err) {
    if (res.headersSent) throw err;
    return sendError(req, res, errorStatus(err));
  } finally {
    if (handle !== undefined) closeQuietly(handle);
  }
}

// A connection's static answers, one after the other (see serveStatic()).
const kStaticQueue = Symbol('staticQueue');

const responseDone = (res) => new Promise((resolve) => finished(res, () => resolve()));

// Serves req if a mount takes it (a GET or HEAD under its prefix): returns
// true then, false when the request is the handler's. A connection's
// files are opened one at a time, each once the one before is sent, as
// the ring thread does: a client pipelining downloads holds one file
// open, not one per request.
function serveStatic(mounts, req, res) {
  const mount = mounts.length ? matchStatic(mounts, req.method, req.url) : undefined;
  if (mount === undefined) return false;
  const socket = req.socket;
  const before = socket[kStaticQueue] ?? Promise.resolve();
  socket[kStaticQueue] = before.then(async () => {
    if (res.destroyed) return; // its connection is gone
    await answerStatic(mount, req, res);
    await responseDone(res);
  }).catch(() => res.destroy());
  return true;
}

module.exports = { makeStatic, matchStatic, serveStatic, CONTENT_TYPES };
