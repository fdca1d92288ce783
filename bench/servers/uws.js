'use strict';

// uWebSockets.js (one thread, epoll, C++) answering what bench/lib/handler.js
// answers, the uWS way: the peer to beat in the handler cases.
const { BIG, HELLO, HELLO_TYPE } = require('../lib/handler');
const { serveWith, Unsupported } = require('../lib/serve');
const { loadUws } = require('../lib/uws');

serveWith((port, host) => {
  const uWS = loadUws();
  if (uWS instanceof Error) throw new Unsupported(uWS.message);
  const app = uWS.App()
    .get('/64k', (res) => {
      res.cork(() => res.writeHeader('Content-Type', 'application/octet-stream').end(BIG));
    })
    .get('/*', (res) => {
      res.cork(() => res.writeHeader('Content-Type', HELLO_TYPE).end(HELLO));
    })
    .post('/*', echo);
  return new Promise((resolve, reject) => {
    app.listen(host, port, (token) => {
      if (token) resolve(uWS.us_socket_local_port(token));
      else reject(new Error(`uWebSockets.js could not listen on ${host}:${port}`));
    });
  });
});

// The body arrives in pieces whose ArrayBuffers uWS reuses once the callback
// returns, so each is copied; the response waits for the last.
function echo(res) {
  const chunks = [];
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  res.onData((piece, isLast) => {
    chunks.push(Buffer.from(piece.slice(0)));
    if (!isLast || aborted) return;
    res.cork(() => res.writeHeader('Content-Type', 'application/octet-stream').end(Buffer.concat(chunks)));
  });
}
