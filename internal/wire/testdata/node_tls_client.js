// Tiny Node.js TLS client for internal/wire tests: connects to 127.0.0.1:PORT
// with SNI "localhost" and the given groups, so the test can capture a real
// OpenSSL ClientHello. usage: node node_tls_client.js PORT [ECDH_CURVE]
'use strict';
const tls = require('tls');
const [port, curve] = process.argv.slice(2);
const opts = { host: '127.0.0.1', port: Number(port), servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] };
if (curve) opts.ecdhCurve = curve;
const s = tls.connect(opts);
s.on('error', () => process.exit(0));
s.on('close', () => process.exit(0));
setTimeout(() => process.exit(0), 5000);
