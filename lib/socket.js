'use strict';

// One client connection as the handler sees it (req.socket): where the
// client is. The socket itself lives on the ring thread; this object only
// names it by (slot, generation) and tracks the requests it carries.
const { EventEmitter } = require('node:events');

const kAddr = Symbol('addr');
const kRemoteAddress = Symbol('remoteAddress');

class UringSocket extends EventEmitter {
  constructor(server, ring, slot, gen, family, port, addrBytes) {
    super();
    this.server = server;
    // Which of the server's rings (0 to rings - 1) serves the connection.
    this.ring = ring;
    this.slot = slot;
    this.gen = gen;
    this.remoteFamily = family;
    this.remotePort = port;
    this[kAddr] = addrBytes;
    this[kRemoteAddress] = undefined;
    this.destroyed = false;
    // Responses handed to the handler and not yet ended, oldest first.
    this.pending = [];
    // The request whose body is arriving, if any.
    this.bodyRequest = null;
    // Response bytes (heads and bodies, as JS counts them) handed to the
    // ring thread, and those it reported sent; a DRAIN event was asked for.
    this.queuedBytes = 0;
    this.sentBytes = 0;
    this.drainAsked = false;
    this.requests = 0; // counted when maxRequestsPerSocket is set
  }

  // Closes the connection at once; its responses not yet ended are
  // aborted ('close' follows, as for a client that went away).
  destroy() {
    if (!this.destroyed) this.server._abort(this);
    return this;
  }

  // Response bytes written and not yet sent: what res.write() weighs
  // against the high-water mark.
  get writableLength() {
    return this.queuedBytes - this.sentBytes;
  }

  get remoteAddress() {
    if (this[kRemoteAddress] === undefined) {
      this[kRemoteAddress] = formatAddress(this[kAddr]);
    }
    return this[kRemoteAddress];
  }

  address() {
    return this.server.address();
  }

  get localPort() {
    const a = this.server.address();
    return a ? a.port : undefined;
  }

  // Kept for code written against net.Socket; the ring thread already sets
  // TCP_NODELAY on every connection, and timeouts are the server's.
  setNoDelay() { return this; }
  setKeepAlive() { return this; }
  setTimeout() { return this; }
}

function formatAddress(bytes) {
  if (bytes.length === 4) return bytes.join('.');
  const words = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i] << 8) | bytes[i + 1]);
  // An IPv4 client of a dual-stack socket: ::ffff:a.b.c.d, as Node prints.
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  return compressIPv6(words.map((w) => w.toString(16)));
}

// The longest run of zero groups becomes "::" (RFC 5952).
function compressIPv6(groups) {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  const head = groups.slice(0, best).join(':');
  const tail = groups.slice(best + bestLen).join(':');
  return `${head}::${tail}`;
}

module.exports = { UringSocket };
