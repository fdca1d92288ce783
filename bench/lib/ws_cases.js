'use strict';

// What every server of the ws-* cases answers, so that they differ only in
// what carries the frames: a WebSocket on /sub subscribes to TOPIC and only
// reads; each message from one on /pub goes to TOPIC's subscribers; on any
// other path each message is echoed (text as text, binary as binary).
// bench/wsload/wsload.c is the client.

const TOPIC = 't';
const SUBSCRIBE_PATH = '/sub';
const PUBLISH_PATH = '/pub';

// A plain HTTP request to a WebSocket server: 426, as ws answers one.
function upgradeRequired(req, res) {
  res.writeHead(426, { 'Content-Type': 'text/plain', 'Content-Length': 16 });
  res.end('Upgrade Required');
}

// The URL's path: req.url without its query.
function pathOf(url) {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

module.exports = { TOPIC, SUBSCRIBE_PATH, PUBLISH_PATH, upgradeRequired, pathOf };
