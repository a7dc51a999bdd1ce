// pqtls test harness: a Node.js TLS client that connects once.
// Usage: node client.js CONFIG.json
// Prints one JSON object on stdout with what Node saw. The OpenSSL trace on
// stderr lets the Go side read the exact codepoint of the ServerHello group.
'use strict';
const tls = require('tls');
const fs = require('fs');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const res = { connected: false, group: '', groupType: '', protocol: '', cipher: '', alpn: '',
  authorized: false, authorizationError: '', response: '', error: '', code: '' };
let done = false;
const finish = () => {
  if (done) return;
  done = true;
  process.stdout.write(JSON.stringify(res) + '\n');
  process.exit(0);
};

const opts = {
  host: cfg.host,
  port: cfg.port,
  servername: cfg.servername || undefined,
  rejectUnauthorized: !cfg.insecure,
  enableTrace: true,
};
if (cfg.ca) opts.ca = cfg.ca;
if (cfg.cert) { opts.cert = cfg.cert; opts.key = cfg.key; }
if (cfg.curves) opts.ecdhCurve = cfg.curves;
if (cfg.minVersion) opts.minVersion = cfg.minVersion;
if (cfg.maxVersion) opts.maxVersion = cfg.maxVersion;
if (cfg.alpn && cfg.alpn.length) opts.ALPNProtocols = cfg.alpn;

const sock = tls.connect(opts, () => {
  res.connected = true;
  const k = sock.getEphemeralKeyInfo() || {};
  res.group = k.name || '';
  res.groupType = k.type || '';
  res.protocol = sock.getProtocol() || '';
  const c = sock.getCipher() || {};
  res.cipher = c.standardName || c.name || '';
  res.alpn = sock.alpnProtocol || '';
  res.authorized = sock.authorized;
  res.authorizationError = sock.authorizationError ? String(sock.authorizationError) : '';
  if (cfg.send) sock.write(cfg.send);
  // Wait for the server's first bytes (or its close, or an alert: a TLS 1.3
  // server rejects a client certificate after the client's handshake ends).
  setTimeout(finish, cfg.readTimeoutMs || 2000);
});
sock.setTimeout(cfg.timeoutMs || 10000, () => { res.error = 'timeout'; res.code = 'ETIMEDOUT'; finish(); });
sock.on('data', (d) => {
  res.response += d.toString();
  // Echo peers: wait until everything sent came back.
  if (cfg.send && res.response.length < cfg.send.length) return;
  setTimeout(finish, 50);
});
sock.on('end', finish);
sock.on('close', finish);
sock.on('error', (e) => { res.error = e.message; res.code = e.code || ''; finish(); });
