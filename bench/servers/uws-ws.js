'use strict';

// uWebSockets.js's app.ws (C++, one thread, epoll): echo, and its pub/sub
// (ws.subscribe, app.publish), the peer to beat in the ws-* cases. Its
// defaults otherwise: no compression, 64 KiB of backpressure a socket
// (the cases keep far less in flight), 120 s idle timeout.
const { TOPIC, SUBSCRIBE_PATH, PUBLISH_PATH } = require('../lib/ws_cases');
const { serveWith, Unsupported } = require('../lib/serve');
const { loadUws } = require('../lib/uws');

serveWith((port, host) => {
  const uWS = loadUws();
  if (uWS instanceof Error) throw new Unsupported(uWS.message);
  const app = uWS.App()
    .ws(SUBSCRIBE_PATH, { open: (ws) => ws.subscribe(TOPIC) })
    .ws(PUBLISH_PATH, { message: (ws, data, isBinary) => app.publish(TOPIC, data, isBinary) })
    .ws('/*', { message: (ws, data, isBinary) => ws.send(data, isBinary) })
    .any('/*', (res) => res.writeStatus('426 Upgrade Required').end('Upgrade Required'));
  return new Promise((resolve, reject) => {
    app.listen(host, port, (token) => {
      if (token) resolve(uWS.us_socket_local_port(token));
      else reject(new Error(`uWebSockets.js could not listen on ${host}:${port}`));
    });
  });
});
