'use strict';

// The ws package on node:http, the baseline of the ws-* cases: echo, and a
// broadcast as ws users write one, a loop over the subscribers (ws has no
// pub/sub; each send frames the message again).
const http = require('node:http');
const { TOPIC, SUBSCRIBE_PATH, PUBLISH_PATH, upgradeRequired, pathOf } = require('../lib/ws_cases');
const { serve, Unsupported } = require('../lib/serve');

serve((port, host, options) => {
  let WebSocketServer;
  try {
    ({ WebSocketServer } = require('ws'));
  } catch {
    throw new Unsupported('the ws package is not installed (npm install adds it: it is a devDependency)');
  }
  const server = http.createServer(options, upgradeRequired);
  const wss = new WebSocketServer({ server, clientTracking: false, perMessageDeflate: false });
  const topics = new Map([[TOPIC, new Set()]]);
  wss.on('connection', (ws, req) => {
    const path = pathOf(req.url);
    if (path === SUBSCRIBE_PATH) {
      const subscribers = topics.get(TOPIC);
      subscribers.add(ws);
      ws.on('close', () => subscribers.delete(ws));
    } else if (path === PUBLISH_PATH) {
      ws.on('message', (data, isBinary) => {
        for (const subscriber of topics.get(TOPIC)) subscriber.send(data, { binary: isBinary });
      });
    } else {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    }
  });
  return server.listen(port, host);
});
