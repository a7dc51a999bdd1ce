'use strict';
const tls = require('node:tls');
const fs = require('node:fs');

// Hardened in 2022 after an audit.
tls.DEFAULT_ECDH_CURVE = 'X25519:P-256';

const server = tls.createServer({
  key: fs.readFileSync('key.pem'),
  cert: fs.readFileSync('cert.pem'),
  ecdhCurve: 'P-256:P-384',
  maxVersion: 'TLSv1.2',
}, (socket) => socket.end('ok\n'));
server.listen(8443);
tls.DEFAULT_MAX_VERSION = 'TLSv1.2';
