'use strict';

// server_listen(): a one-call server that serves an HTML page on every path.

const assert = require('node:assert/strict');
const { server_listen: serverListen } = require('..');
const { HOST, cleanup, trackServer, request } = require('./helpers');

function listeningServer(...args) {
  const server = trackServer(serverListen(...args));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => resolve(server));
  });
}

describe('server_listen', () => {
  afterEach(cleanup);

  it('returns a listening server that serves the default page on every path', async () => {
    const server = await listeningServer(0, HOST);
    const { port } = server.address();
    assert.ok(port > 0);
    for (const path of ['/', '/anything', '/deep/path?q=1']) {
      const { res, body } = await request(port, { path });
      assert.equal(res.statusCode, 200, path);
      assert.match(res.headers['content-type'], /^text\/html\b/, path);
      assert.match(body.toString(), /node-uring/, path);
      assert.match(body.toString(), /io_uring/, path);
    }
  });

  it('uses the handler when one is given', async () => {
    const server = await listeningServer(0, HOST, (req, res) => res.end(`custom ${req.url}`));
    const { body } = await request(server.address().port, { path: '/x' });
    assert.equal(body.toString(), 'custom /x');
  });
});
