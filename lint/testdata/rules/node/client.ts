import * as tls from 'node:tls';

// ecdhCurve: 'P-256',   (old)
/* const legacy = { ecdhCurve: 'P-256', maxVersion: 'TLSv1.2' }; */
export const options: tls.ConnectionOptions = {
  host: 'payments.internal',
  port: 8443,
  ecdhCurve: 'X25519MLKEM768:X25519:P-256',
  maxVersion: 'TLSv1.3',
};
export const fallback = { ecdhCurve: 'auto', servername: 'https://example.com/path' };
export const fromEnv = { ecdhCurve: process.env.CURVES };
tls.DEFAULT_MAX_VERSION = 'TLSv1.3';
