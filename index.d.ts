// Type declarations for node-uring: the HTTP server, the Ring queue, probe(),
// WebSocketServer.

/// <reference types="node" />

import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { Duplex } from 'node:stream';

// ---- the HTTP server ----

export interface ServerOptions {
  /** Bytes of request line and headers before a 431. Default 16384. */
  maxHeaderSize?: number;
  /** ms for the whole head to arrive (408 after). Default 60000; 0 disables. */
  headersTimeout?: number;
  /** ms for the whole request to arrive. Default 300000; 0 disables. */
  requestTimeout?: number;
  /** ms an idle keep-alive connection is kept. Default 5000; 0 disables. */
  keepAliveTimeout?: number;
  /** Bind with SO_REUSEPORT, so that several servers share a port. */
  reusePort?: boolean;
  /**
   * 'auto' (default): io_uring when it can be set up, else node:http, with
   * one URING_FALLBACK warning naming the cause; 'uring': fail with
   * ERR_URING_UNAVAILABLE instead; 'node': always node:http.
   */
  backend?: 'auto' | 'uring' | 'node';
  /** Requests a connection serves before it closes (503 past it). Default 0: none. */
  maxRequestsPerSocket?: number;
  /** Request body bytes past which the client gets 413. Default 0: no cap. */
  maxRequestBodySize?: number;
  /** The ring's SQ entries (8 to 32768; the CQ is 4 times larger). Default 512. */
  ringEntries?: number;
  /** ms without traffic on a connection before 'timeout' (destroyed when unheard). Default 0: never. */
  timeout?: number;
  /**
   * Whether the ring runs on a thread of its own (true) or this thread
   * drives it between its other events (false). Default: false with one
   * ring, true with more (which always have their threads). With a ring
   * thread, routes and static files are served while JS is busy.
   */
  ringThread?: boolean;
  /** As node:http's: false serves an HTTP/1.1 request without Host (else 400). Default true. */
  requireHostHeader?: boolean;
  /**
   * Not node:http's: close() closes each connection once its responses are
   * out, those not begun saying Connection: close (true), instead of
   * serving a busy connection on until it is idle past keepAliveTimeout,
   * as node:http's close() does (false, the default).
   */
  drainOnClose?: boolean;
  /**
   * Ring threads (1 to 64), each with its own SO_REUSEPORT listening socket
   * on the port, all feeding this thread's handlers. Default 1. The
   * node:http backend ignores it.
   */
  rings?: number;
  /**
   * Load bounds for the whole server, shared out among its rings (see the
   * README, "Limits under load"); 0 disables each. The node:http backend
   * ignores them. Requests handed to handlers whose response has not
   * begun, past which no new input is read until they fall under three
   * quarters of it. Default 4096.
   */
  maxQueuedRequests?: number;
  /** Bytes of events handed to this thread and not yet taken by it, past which no new input is read. Default 16 MiB. */
  maxQueuedBytes?: number;
  /** Connections paused by those bounds, past which none is accepted until the load falls. Default 1024. */
  maxPausedConnections?: number;
}

/** Where a server stands under load: server.stats(). */
export interface ServerStats {
  /** Connections open. */
  connections: number;
  /** Requests handed to handlers whose response has not begun (node:http backend: responses not finished). */
  requestsQueued: number;
  /** Bytes of events the ring threads handed this thread and it has not taken yet (node:http backend: 0). */
  bytesQueued: number;
  /** Response bytes written and not yet sent to their clients. */
  bytesUnsent: number;
  /** Connections not read for now because the server is over its bounds (node:http backend: the sockets node:http paused). */
  connectionsPaused: number;
  /** Over maxQueuedRequests or maxQueuedBytes: no new input is read (node:http backend: always false). */
  overloaded: boolean;
  /** Whether new connections are accepted (false past maxPausedConnections, or once closed). */
  accepting: boolean;
  /** Response bodies (Buffers and other typed arrays of 16 KiB or more) the ring threads send from without a copy and have not yet released; each is held until then (node:http backend: 0). */
  buffersLent: number;
}

/**
 * What `req.socket` is: the connection a request came on, a Duplex shaped
 * like net.Socket, shared by the connection's requests.
 */
export interface UringSocket extends Socket {
  /** Which of the server's rings (0 to rings - 1) serves the connection; undefined on the node:http backend. */
  readonly ring: number | undefined;
}

/** The request: a node:http IncomingMessage; the body is a Readable. */
export interface IncomingMessage extends http.IncomingMessage {
  socket: UringSocket;
}

/** The response: a node:http ServerResponse. */
export interface ServerResponse extends http.ServerResponse<IncomingMessage> {
  socket: UringSocket | null;
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export class Server extends EventEmitter {
  constructor(requestListener?: RequestListener);
  constructor(options: ServerOptions, requestListener?: RequestListener);
  maxHeaderSize: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  reusePort: boolean;
  maxRequestsPerSocket: number;
  /** As node:http's: how many headers req.headers takes (null: 1000, 0: all). */
  maxHeadersCount: number | null;
  maxRequestBodySize: number;
  rings: number;
  ringThread: boolean;
  requireHostHeader: boolean;
  /** Read by close(); see ServerOptions.drainOnClose. */
  drainOnClose: boolean;
  maxQueuedRequests: number;
  maxQueuedBytes: number;
  maxPausedConnections: number;
  /** Connections past it are closed as they arrive ('drop'); undefined: no limit. */
  maxConnections: number | undefined;
  readonly listening: boolean;
  /** Which backend serves: 'uring' or 'node' while listening, null otherwise. */
  readonly backend: 'uring' | 'node' | null;
  listen(port?: number, host?: string, backlog?: number, callback?: () => void): this;
  listen(port?: number, host?: string, callback?: () => void): this;
  listen(port?: number, callback?: () => void): this;
  /** A Unix domain socket at path, removed again at close(); one ring only. */
  listen(path: string, backlog?: number, callback?: () => void): this;
  listen(path: string, callback?: () => void): this;
  listen(options: { port?: number; host?: string; path?: string; backlog?: number }, callback?: () => void): this;
  close(callback?: (err?: Error) => void): this;
  closeAllConnections(): void;
  /** Closes the connections with no request in flight (idle keep-alive ones). */
  closeIdleConnections(): void;
  /** Closes the server: `await using server = createServer(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
  /**
   * A fixed response the ring thread sends by itself to GET and HEAD of
   * path ('*': every path), its query ignored. Before listen().
   */
  route(method: 'GET', path: string,
    response?: { status?: number; headers?: Record<string, string | number | string[]>; body?: string | Uint8Array }): this;
  /**
   * Serves the files under dir to GET and HEAD of urlPrefix and the paths
   * beneath it (the ring thread does, without JS): index.html for a
   * directory, 301 to add a directory's '/', no dotfiles, nothing outside
   * dir, ETag and Last-Modified with 304, single byte ranges. Other methods
   * go to the handler. Before listen(); routes match first, then the mounts
   * in order. Throws the fs error when dir is not there.
   */
  static(urlPrefix: string, dir: string): this;
  /** As net.Server's: the connections open, counted on the ring threads. */
  getConnections(callback: (err: Error | null, count: number) => void): this;
  /** Where the server stands under load, as of a moment ago. */
  stats(): ServerStats;
  /** server.timeout, and a 'timeout' listener. Before listen(). */
  setTimeout(msecs: number, callback?: (socket: UringSocket) => void): this;
  timeout: number;
  /** A Unix socket's path, when listening on one. */
  address(): AddressInfo | string | null;
  ref(): this;
  unref(): this;
  on(event: 'request', listener: RequestListener): this;
  /** An Upgrade request (a CONNECT): the connection leaves HTTP, as on node:http. */
  on(event: 'upgrade' | 'connect',
    listener: (req: http.IncomingMessage, socket: UringSocket, head: Buffer) => void): this;
  on(event: 'listening' | 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'connection', listener: (socket: UringSocket) => void): this;
  /** node:http backend only: the ring thread answers malformed requests with 400 itself. */
  on(event: 'clientError', listener: (err: Error, socket: UringSocket) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export function createServer(requestListener?: RequestListener): Server;
export function createServer(options: ServerOptions, requestListener?: RequestListener): Server;

/** Starts a server on port; without a handler it serves node-uring's page. */
export function server_listen(port: number, handler?: RequestListener): Server;
export function server_listen(port: number, host: string, handler?: RequestListener): Server;

// ---- the Ring API ----

export interface RingOptions {
  /** SQ entries, rounded up to a power of two; the CQ is twice as large. Default 256. */
  entries?: number;
  /** A kernel thread polls the SQ (costs a core while busy). Default false. */
  sqpoll?: boolean;
  /** ms of idleness before that thread sleeps. Default 1000. */
  sqThreadIdle?: number;
  /**
   * With as many operations in flight as the CQ holds: 'wait' (default)
   * queues the next ones until there is room; 'reject' rejects them with
   * ERR_URING_QUEUE_FULL.
   */
  queueFull?: 'wait' | 'reject';
}

/** Node's fs flag strings, or O_* numbers (O_CLOEXEC is always added). */
export type OpenFlags = 'r' | 'r+' | 'rs+' | 'w' | 'wx' | 'w+' | 'wx+' | 'a' | 'ax' | 'as' |
  'a+' | 'ax+' | 'as+' | number;

/** A file position; null, undefined or -1 mean the file's current position. */
export type Position = number | null | undefined;

/** What statx() resolves to: the main fields of fs.Stats. */
export interface RingStats {
  dev: number; ino: number; mode: number; nlink: number; uid: number; gid: number;
  rdev: number; size: number; blksize: number; blocks: number;
  atimeMs: number; mtimeMs: number; ctimeMs: number; birthtimeMs: number;
  atime: Date; mtime: Date; ctime: Date; birthtime: Date;
  isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean;
  isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean;
}

/**
 * An error from an operation, shaped like fs's: code 'ENOENT', errno -2,
 * syscall 'open', and path for operations on a path.
 */
export interface RingError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

/**
 * The io_uring queue. Every operation returns a Promise of its result and
 * rejects with a RingError; invalid arguments throw synchronously.
 * Operations started in the same tick go to the kernel in one submit.
 */
export class Ring {
  constructor(options?: RingOptions);
  readonly entries: number;
  readonly cqEntries: number;
  /** The IORING_SETUP_* flags the kernel accepted. */
  readonly setupFlags: number;
  /** Operations started and not yet answered. */
  readonly pending: number;
  readonly closed: boolean;

  nop(): Promise<number>;
  read(fd: number, buffer: ArrayBufferView, offset?: number, length?: number,
    position?: Position): Promise<number>;
  write(fd: number, buffer: ArrayBufferView | string, offset?: number, length?: number,
    position?: Position): Promise<number>;
  readv(fd: number, buffers: readonly ArrayBufferView[], position?: Position): Promise<number>;
  writev(fd: number, buffers: readonly ArrayBufferView[], position?: Position): Promise<number>;
  /** Resolves to the new file descriptor. */
  open(path: string | URL | Buffer, flags?: OpenFlags, mode?: number): Promise<number>;
  /** Closes a file descriptor. */
  close(fd: number): Promise<number>;
  /**
   * Closes the ring: operations it can still cancel reject with ECANCELED,
   * the others complete; resolves when all are answered and its thread is gone.
   */
  close(): Promise<void>;
  fsync(fd: number, options?: { datasync?: boolean }): Promise<number>;
  statx(path: string | URL | Buffer, options?: { followSymlinks?: boolean }): Promise<RingStats>;
  /** Resolves to a new socket's file descriptor. */
  socket(kind?: 'tcp4' | 'tcp6' | 'udp4' | 'udp6'): Promise<number>;
  /** Resolves to the accepted connection's file descriptor. */
  accept(fd: number): Promise<number>;
  /** host: an IP address, or a name that dns.lookup() resolves first. */
  connect(fd: number, host: string, port: number): Promise<number>;
  recv(fd: number, buffer: ArrayBufferView, offset?: number, length?: number): Promise<number>;
  send(fd: number, buffer: ArrayBufferView | string, offset?: number,
    length?: number): Promise<number>;
  /** Resolves (to undefined) once ms milliseconds have passed. */
  timeout(ms: number): Promise<void>;
  /**
   * Cancels the operation that returned promise: true when it was
   * cancelled (it then rejects with ECANCELED), false when it had completed
   * or the ring is closing. Never rejects; never waits behind a full queue.
   */
  cancel(promise: Promise<unknown>): Promise<boolean>;
  /**
   * Links the operations fn starts synchronously (IOSQE_IO_LINK): each runs
   * once the one before it succeeded (a short read or write, or a timeout's
   * -ETIME, counts as failure); after a failure the rest reject with
   * ECANCELED. Returns what fn returns. cancel() cannot be linked.
   */
  link<T>(fn: () => T): T;
  /** An idle ring never holds the process; a ring with pending operations does unless unref()ed. */
  ref(): this;
  unref(): this;
}

/** A TCP socket listening on host:port (every address when host is omitted), for Ring#accept(). */
export function listenSocket(port?: number, host?: string, backlog?: number):
  { fd: number; port: number };

export interface ProbeResult {
  /** os.release() */
  kernel: string;
  /** false where io_uring cannot be set up (seccomp, sysctl, old kernel). */
  available: boolean;
  /** Why io_uring is unavailable: an error with code ERR_URING_UNAVAILABLE. */
  error?: Error & { code: string };
  /** For each IORING_OP_* the built-in liburing knows ('NOP', 'READV', ...): supported here. */
  ops: Record<string, boolean>;
}

export function probe(): ProbeResult;

/** The message for an errno, positive or negative: strerror(2) is 'no such file or directory'. */
export function strerror(errno: number): string;

// ---- WebSockets ----

export interface WebSocketServerOptions {
  /** A node-uring (or node:http) server whose 'upgrade' requests are handshakes. */
  server?: Server | http.Server;
  /** Listen on a server of its own on this port, answering plain HTTP with 426. */
  port?: number;
  host?: string;
  backlog?: number;
  /** Handshakes come through handleUpgrade() only. */
  noServer?: boolean;
  /** Only upgrades of this path (the query aside) are taken; others get 400. */
  path?: string;
  /** The largest message, in bytes, past which the connection closes with 1009. Default 100 MiB. */
  maxPayload?: number;
  /** Picks the subprotocol from those the client offered; false: none. Default: the first. */
  handleProtocols?: (protocols: Set<string>, req: IncomingMessage) => string | false;
  /** Accepts or refuses a handshake, at once or through cb. */
  verifyClient?:
    | ((info: { origin: string | undefined; secure: boolean; req: IncomingMessage }) => boolean)
    | ((info: { origin: string | undefined; secure: boolean; req: IncomingMessage },
      cb: (verified: boolean, code?: number, message?: string, headers?: Record<string, string | number>) => void) => void);
  /** Keep the connected sockets in wss.clients. Default true. */
  clientTracking?: boolean;
  /**
   * Unsent bytes past which send() returns false ('drain' follows once all
   * is sent), and a publish skips the socket (uWS's name). 0: no limit.
   * Default 64 KiB.
   */
  maxBackpressure?: number;
  /** A subscriber past maxBackpressure is closed (1006) instead of skipped. Default false. */
  closeOnBackpressureLimit?: boolean;
  /**
   * A send() that would take bufferedAmount past this many bytes is not
   * queued: the connection is cut and 'error' (ERR_WS_BUFFER_FULL) is
   * emitted when listened to. 0: no limit (the default, as ws).
   */
  maxBufferedAmount?: number;
  /**
   * Seconds without input after which the connection is cut (1006), as
   * uWS's; 0: never. Default 120. io_uring backend only.
   */
  idleTimeout?: number;
  /** Ping a connection quiet for half of idleTimeout. Default true. io_uring backend only. */
  sendPingsAutomatically?: boolean;
}

/** The events addEventListener() and the on<event> attributes get, as ws's. */
export interface WebSocketEvent {
  readonly type: string;
  readonly target: WebSocket;
}
export interface WebSocketMessageEvent extends WebSocketEvent {
  readonly data: string | Buffer | ArrayBuffer | Buffer[] | Blob;
}
export interface WebSocketCloseEvent extends WebSocketEvent {
  readonly code: number;
  readonly reason: string;
  /** Close frames went both ways. */
  readonly wasClean: boolean;
}
export interface WebSocketErrorEvent extends WebSocketEvent {
  readonly error: Error;
  readonly message: string;
}
export type WebSocketEventHandler<E> = ((this: WebSocket, event: E) => void) | { handleEvent(event: E): void };

/**
 * One WebSocket connection, as the ws package's server-side WebSocket.
 * On the io_uring backend its frames are the ring thread's; on the
 * node:http backend it is ws's own WebSocket.
 */
export class WebSocket extends EventEmitter {
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  readonly readyState: 0 | 1 | 2 | 3;
  /** The subprotocol the handshake chose, or ''. */
  readonly protocol: string;
  /** Always '': permessage-deflate is declined. */
  readonly extensions: string;
  /** Bytes queued and not yet reported sent (see the README). */
  readonly bufferedAmount: number;
  /** How binary messages come: a Buffer (default), an ArrayBuffer, [Buffer] or a Blob. Other values are ignored. */
  binaryType: 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';
  /** pause() was called, and no resume() since. */
  readonly isPaused: boolean;
  /** Stops reading the connection (messages read already still come); no-op before open or once closed. */
  pause(): void;
  resume(): void;
  /** Browser-style events, as ws's: text messages' data is a string. */
  addEventListener(type: 'message', handler: WebSocketEventHandler<WebSocketMessageEvent>, options?: { once?: boolean }): void;
  addEventListener(type: 'close', handler: WebSocketEventHandler<WebSocketCloseEvent>, options?: { once?: boolean }): void;
  addEventListener(type: 'error', handler: WebSocketEventHandler<WebSocketErrorEvent>, options?: { once?: boolean }): void;
  addEventListener(type: 'open', handler: WebSocketEventHandler<WebSocketEvent>, options?: { once?: boolean }): void;
  removeEventListener(type: 'open' | 'message' | 'close' | 'error', handler: WebSocketEventHandler<any>): void;
  onopen: ((this: WebSocket, event: WebSocketEvent) => void) | null;
  onmessage: ((this: WebSocket, event: WebSocketMessageEvent) => void) | null;
  onclose: ((this: WebSocket, event: WebSocketCloseEvent) => void) | null;
  onerror: ((this: WebSocket, event: WebSocketErrorEvent) => void) | null;
  /**
   * Queues a message. false once bufferedAmount is past maxBackpressure
   * ('drain' follows when it is back to 0) or the socket is not open; on
   * the node:http backend, ws's undefined.
   */
  send(data: string | Buffer | ArrayBuffer | ArrayBufferView, cb?: (err?: Error) => void): boolean;
  send(data: string | Buffer | ArrayBuffer | ArrayBufferView,
    options: { binary?: boolean; fin?: boolean }, cb?: (err?: Error) => void): boolean;
  /** Receives what is published to topic (a string of up to 1024 UTF-8 bytes); false when it did already or is not open. */
  subscribe(topic: string): boolean;
  /** false when it was not subscribed. */
  unsubscribe(topic: string): boolean;
  isSubscribed(topic: string): boolean;
  getTopics(): string[];
  /** To every subscriber of topic on the server, but this socket (as uWS). Binary by the data unless options say. */
  publish(topic: string, data: string | Buffer | ArrayBuffer | ArrayBufferView, options?: { binary?: boolean }): boolean;
  ping(data?: string | Buffer | ArrayBufferView, mask?: boolean, cb?: (err?: Error) => void): void;
  pong(data?: string | Buffer | ArrayBufferView, mask?: boolean, cb?: (err?: Error) => void): void;
  /** Starts the closing handshake; code 1000-1003, 1007-1014 or 3000-4999, reason up to 123 bytes. */
  close(code?: number, reason?: string | Buffer): void;
  /** Closes the connection at once ('close' with 1006). */
  terminate(): void;
  /** data is a Buffer unless binaryType says otherwise (binary messages only). */
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  on(event: 'drain', listener: () => void): this;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (err: Error & { code: string }) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export class WebSocketServer extends EventEmitter {
  constructor(options: WebSocketServerOptions, callback?: () => void);
  /** The connected sockets, unless clientTracking is false. */
  readonly clients: Set<WebSocket> | undefined;
  address(): AddressInfo | string | null;
  shouldHandle(req: IncomingMessage): boolean;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer,
    callback: (ws: WebSocket, req: IncomingMessage) => void): void;
  /** To every subscriber of topic, on every ring of every server it took connections from. */
  publish(topic: string, data: string | Buffer | ArrayBuffer | ArrayBufferView, options?: { binary?: boolean }): void;
  /** The sockets a publish(topic) reaches now, as uWS's app.numSubscribers(). */
  numSubscribers(topic: string): number;
  /** No more handshakes; 'close' once the clients are gone (or its own server closed). */
  close(callback?: (err?: Error) => void): void;
  on(event: 'connection', listener: (ws: WebSocket, req: IncomingMessage) => void): this;
  on(event: 'headers', listener: (headers: string[], req: IncomingMessage) => void): this;
  on(event: 'wsClientError', listener: (err: Error, socket: Duplex, req: IncomingMessage) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'listening' | 'close', listener: () => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}
