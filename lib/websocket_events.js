'use strict';

// The browser-style side of a WebSocket, as the `ws` package gives its
// sockets: addEventListener()/removeEventListener() and the onopen,
// onmessage, onclose and onerror attributes, over the EventEmitter events
// ('message' (data, isBinary), 'close' (code, reason), 'error' (err),
// 'open'). Code written for a browser's WebSocket, or for ws's, runs on
// node-uring's sockets unchanged. Mixed into WebSocket by lib/websocket.js.

const kTarget = Symbol('target');
// On a wrapper: the handler it calls, and whether an on<type> attribute
// set it (attributes and addEventListener() do not see each other's).
const kHandler = Symbol('handler');
const kAttribute = Symbol('attribute');
// On a socket: whether close frames went both ways (CloseEvent's
// wasClean), kept off the public surface as ws keeps its own.
const kWasClean = Symbol('wasClean');

class Event {
  constructor(type) {
    this[kTarget] = null;
    this.type = type;
  }

  get target() { return this[kTarget]; }
}

class MessageEvent extends Event {
  constructor(type, { data = null } = {}) {
    super(type);
    this.data = data;
  }
}

class CloseEvent extends Event {
  constructor(type, { code = 0, reason = '', wasClean = false } = {}) {
    super(type);
    this.code = code;
    this.reason = reason;
    this.wasClean = wasClean;
  }
}

class ErrorEvent extends Event {
  constructor(type, { error = null, message = '' } = {}) {
    super(type);
    this.error = error;
    this.message = message;
  }
}

// The event a listener of type gets for the EventEmitter arguments args,
// on socket ws. Text messages come as strings, binary ones as the socket's
// binaryType gave them.
function eventOf(ws, type, args) {
  switch (type) {
    case 'message': {
      const [data, isBinary] = args;
      return new MessageEvent(type, { data: isBinary ? data : data.toString() });
    }
    case 'close': {
      const [code, reason] = args;
      return new CloseEvent(type, { code, reason: reason.toString(), wasClean: ws[kWasClean] });
    }
    case 'error': {
      const [error] = args;
      return new ErrorEvent(type, { error, message: error.message });
    }
    default:
      return new Event(type);
  }
}

const TYPES = ['open', 'message', 'close', 'error'];

// A handler is a function, called with the socket as `this`, or an object
// with handleEvent(), as the DOM allows.
function call(handler, ws, event) {
  if (typeof handler === 'object') handler.handleEvent(event);
  else handler.call(ws, event);
}

function wrap(ws, type, handler, attribute) {
  const wrapper = function onEvent(...args) {
    const event = eventOf(ws, type, args);
    event[kTarget] = ws;
    call(handler, ws, event);
  };
  wrapper[kHandler] = handler;
  wrapper[kAttribute] = attribute;
  return wrapper;
}

const methods = {
  // addEventListener(type, handler[, { once }]): a handler added twice
  // for one type is called once. Types other than the four are ignored.
  addEventListener(type, handler, options = {}) {
    if (!TYPES.includes(type) ||
        (typeof handler !== 'function' && typeof handler?.handleEvent !== 'function')) return;
    for (const listener of this.listeners(type)) {
      if (listener[kHandler] === handler && !listener[kAttribute]) return;
    }
    const wrapper = wrap(this, type, handler, false);
    if (options.once) this.once(type, wrapper);
    else this.on(type, wrapper);
  },

  removeEventListener(type, handler) {
    for (const listener of this.listeners(type)) {
      if (listener[kHandler] === handler && !listener[kAttribute]) {
        this.removeListener(type, listener);
        return;
      }
    }
  },
};

// on<type>: the handler an attribute set, or null; setting one replaces
// it, and anything but a function clears it.
function defineAttribute(proto, type) {
  Object.defineProperty(proto, `on${type}`, {
    configurable: true,
    enumerable: true,
    get() {
      for (const listener of this.listeners(type)) {
        if (listener[kAttribute]) return listener[kHandler];
      }
      return null;
    },
    set(handler) {
      for (const listener of this.listeners(type)) {
        if (listener[kAttribute]) {
          this.removeListener(type, listener);
          break;
        }
      }
      if (typeof handler === 'function') this.on(type, wrap(this, type, handler, true));
    },
  });
}

// Gives Class's instances (EventEmitters that keep [kWasClean]) the
// browser-style API.
function mixEventTarget(Class) {
  for (const [name, fn] of Object.entries(methods)) {
    Object.defineProperty(Class.prototype, name, { value: fn, writable: true, configurable: true });
  }
  for (const type of TYPES) defineAttribute(Class.prototype, type);
}

module.exports = { mixEventTarget, kWasClean, Event, MessageEvent, CloseEvent, ErrorEvent };
