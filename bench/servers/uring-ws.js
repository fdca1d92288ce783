'use strict';

// node-uring's WebSocketServer (frames on the ring thread): echo, and
// pub/sub through ws.subscribe() and wss.publish(), which frames a message
// once for every subscriber without JS per recipient. The bench skips this
// server in ws-broadcast where wss.publish does not exist yet.
const { createServer, WebSocketServer } = require('../..');
const { TOPIC, SUBSCRIBE_PATH, PUBLISH_PATH, upgradeRequired, pathOf } = require('../lib/ws_cases');
const { serve } = require('../lib/serve');

serve((port, host, options) => {
  const server = createServer(options, upgradeRequired);
  const wss = new WebSocketServer({ server, clientTracking: false });
  wss.on('connection', (ws, req) => {
    const path = pathOf(req.url);
    if (path === SUBSCRIBE_PATH) {
      ws.subscribe(TOPIC);
    } else if (path === PUBLISH_PATH) {
      ws.on('message', (data, isBinary) => wss.publish(TOPIC, data, { binary: isBinary }));
    } else {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    }
  });
  return server.listen(port, host);
});
