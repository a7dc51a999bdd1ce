// Starts TLS servers for the scan tests and benchmark, all in one Node.js
// process. argv[2] is the JSON configuration: {"key": PEM path, "cert": PEM path,
// "servers": [{"ecdhCurve": "...", "maxVersion": "TLSv1.2", "count": 1}]}.
// Prints one JSON line: an array (one per server spec) of arrays of ports.
// Exits when stdin closes.
'use strict';
const tls = require('tls');
const fs = require('fs');
const cfg = JSON.parse(process.argv[2]);
const key = fs.readFileSync(cfg.key);
const cert = fs.readFileSync(cfg.cert);
const ports = cfg.servers.map(() => []);
let pending = 0;
cfg.servers.forEach((s, i) => {
  const count = s.count || 1;
  for (let j = 0; j < count; j++) {
    pending++;
    const opts = { key, cert };
    if (s.ecdhCurve) opts.ecdhCurve = s.ecdhCurve;
    if (s.maxVersion) opts.maxVersion = s.maxVersion;
    if (s.minVersion) opts.minVersion = s.minVersion;
    if (s.ciphers) opts.ciphers = s.ciphers;
    const srv = tls.createServer(opts, (sock) => { sock.on('error', () => {}); sock.end(); });
    srv.on('tlsClientError', () => {});
    srv.on('error', (e) => { console.error(e); process.exit(1); });
    srv.listen(0, '127.0.0.1', () => {
      ports[i][j] = srv.address().port;
      if (--pending === 0) console.log(JSON.stringify(ports));
    });
  }
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
