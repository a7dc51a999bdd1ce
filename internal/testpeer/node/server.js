// pqtls test harness: a Node.js TLS server for interop tests.
// Usage: node server.js CONFIG.json
// Prints JSON lines on stdout: {"event":"listening","port":N}, then one
// {"event":"handshake",...} or {"event":"error",...} per connection. The
// negotiated group is not available to JavaScript on a server socket
// (getEphemeralKeyInfo() returns null there), so the server enables
// OpenSSL's trace (stderr) and reports each connection's client random (from
// the keylog event); the Go side matches it to the ServerHello in the trace.
'use strict';
const tls = require('tls');
const fs = require('fs');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const opts = {
  key: cfg.key,
  cert: cfg.cert,
  enableTrace: true,
};
if (cfg.ca) opts.ca = cfg.ca;
if (cfg.curves) opts.ecdhCurve = cfg.curves;
if (cfg.minVersion) opts.minVersion = cfg.minVersion;
if (cfg.maxVersion) opts.maxVersion = cfg.maxVersion;
if (cfg.ciphers) opts.ciphers = cfg.ciphers;
if (cfg.requestCert) {
  opts.requestCert = true;
  opts.rejectUnauthorized = !!cfg.rejectUnauthorized;
}
if (cfg.alpn && cfg.alpn.length) opts.ALPNProtocols = cfg.alpn;

let seq = 0;
const server = tls.createServer(opts, (sock) => {
  const cert = sock.getPeerCertificate();
  const cipher = sock.getCipher() || {};
  out({
    event: 'handshake',
    seq: ++seq,
    clientRandom: sock.pqtlsClientRandom || '',
    protocol: sock.getProtocol() || '',
    cipher: cipher.standardName || cipher.name || '',
    alpn: sock.alpnProtocol || '',
    servername: sock.servername || '',
    authorized: sock.authorized,
    authorizationError: sock.authorizationError ? String(sock.authorizationError) : '',
    peerCN: cert && cert.subject ? String(cert.subject.CN || '') : '',
    resumed: sock.isSessionReused(),
  });
  sock.on('error', (e) => out({ event: 'socketError', seq, message: e.message, code: e.code || '' }));
  if (cfg.echo) {
    sock.pipe(sock);
    return;
  }
  sock.on('data', () => {});
  sock.end(cfg.response === undefined ? 'hello from node\n' : cfg.response);
});
server.on('keylog', (line, sock) => {
  // CLIENT_RANDOM <random> <secret> (TLS 1.2) or *_TRAFFIC_SECRET <random> <secret>.
  const f = line.toString().split(' ');
  if (f.length >= 3) sock.pqtlsClientRandom = f[1].toLowerCase();
});
server.on('tlsClientError', (e, sock) => {
  out({ event: 'error', seq: ++seq, message: e.message, code: e.code || '', reason: e.reason || '' });
});
server.on('error', (e) => {
  out({ event: 'fatal', message: e.message, code: e.code || '' });
  process.exit(1);
});
server.listen(0, '127.0.0.1', () => out({ event: 'listening', port: server.address().port }));
process.on('SIGTERM', () => process.exit(0));
