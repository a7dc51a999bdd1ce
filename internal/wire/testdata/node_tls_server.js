// Tiny Node.js TLS server for internal/wire interop tests.
// usage: node node_tls_server.js KEY CERT [ECDH_CURVE|-] [MAX_VERSION]
// Listens on 127.0.0.1:0, prints {"port": N} on stdout, exits when stdin closes.
'use strict';
const tls = require('tls');
const fs = require('fs');
const [key, cert, curve, maxVersion] = process.argv.slice(2);
const opts = { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
if (curve && curve !== '-') opts.ecdhCurve = curve;
if (maxVersion) opts.maxVersion = maxVersion;
const srv = tls.createServer(opts, (s) => s.end());
srv.on('tlsClientError', () => {});
srv.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: srv.address().port, openssl: process.versions.openssl }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
