// Node.js HTTP/2 client: GET https://host:port/ over http2.connect and print
// {status, alpn, cipher, protocol, body, error} as JSON. argv: url, CA file.
const http2 = require('node:http2');
const fs = require('node:fs');
const [url, caFile] = process.argv.slice(2);
const out = {};
const done = () => { console.log(JSON.stringify(out)); process.exit(0); };
setTimeout(() => { out.error = 'timeout'; done(); }, 10000).unref();
const session = http2.connect(url, { ca: fs.readFileSync(caFile), servername: 'localhost' });
session.on('error', (e) => { out.error = String(e && e.message || e); out.code = e && e.code; done(); });
session.on('connect', () => {
  const s = session.socket;
  out.alpn = s.alpnProtocol;
  out.cipher = s.getCipher().standardName;
  out.protocol = s.getProtocol();
  const info = s.getEphemeralKeyInfo && s.getEphemeralKeyInfo();
  out.group = info && info.name;
  const req = session.request({ ':path': '/' });
  let body = '';
  req.setEncoding('utf8');
  req.on('response', (h) => { out.status = h[':status']; });
  req.on('data', (d) => { body += d; });
  req.on('end', () => { out.body = body; session.close(); done(); });
  req.on('error', (e) => { out.error = String(e.message); done(); });
  req.end();
});
