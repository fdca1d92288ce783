'use strict';

// The symbols under which node:http's IncomingMessage and OutgoingMessage
// keep state of theirs that node-uring's objects must share: a framework
// may swap a request's or response's prototype for one inheriting from
// node:http's, whose methods then read these. They are node:http's own
// (not exported by it), found once on instances of its classes; a Node.js
// that renamed one fails here, at load, rather than later on a request.
const http = require('node:http');

function stateSymbol(instance, description) {
  const sym = Object.getOwnPropertySymbols(instance).find((s) => s.description === description);
  if (sym === undefined) throw new Error(`node-uring: node:http keeps no ${description} in this Node.js`);
  return sym;
}

const incoming = new http.IncomingMessage(null);
const outgoing = new http.OutgoingMessage();

module.exports = {
  // How many rawHeaders entries node:http's headers getters read.
  kHeadersCount: stateSymbol(incoming, 'kHeadersCount'),
  // The headers setHeader() stored: { [lower-cased name]: [name, value] }, or null.
  kOutHeaders: stateSymbol(outgoing, 'kOutHeaders'),
  // A write() returned false: 'drain' is due once the socket drains.
  kNeedDrain: stateSymbol(outgoing, 'kNeedDrain'),
};
