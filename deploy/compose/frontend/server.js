'use strict';
// Static server for the built app (dist/), with no dependencies so the runtime image
// needs nothing from npm but PM2. CommonJS on purpose: the image has no package.json.
//
//   GET /health        200 {"status":"ok","service":"frontend","pid":N}
//   GET /assets/*      hashed by Vite, so cached for a year
//   GET /<no ext>      unknown paths fall back to index.html (client-side routes)
//   anything else      the file in dist/, or 404
//
// Env: HOST (0.0.0.0), PORT (3000), DIST_DIR (./dist beside this file).

const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const HOST = process.env.HOST || '0.0.0.0';
const PORT = Number.parseInt(process.env.PORT || '3000', 10);
const ROOT = path.resolve(process.env.DIST_DIR || path.join(__dirname, 'dist'));
const INDEX = path.join(ROOT, 'index.html');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
};

function log(message) {
  process.stdout.write(`${new Date().toISOString()} frontend[${process.pid}] ${message}\n`);
}

function send(req, res, status, body, headers = {}) {
  const payload = Buffer.from(body);
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': payload.length,
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : payload);
}

function sendJson(req, res, status, value) {
  send(req, res, status, JSON.stringify(value), {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
  });
}

function cacheControl(urlPath, file) {
  // index.html names the current hashes: always revalidate it.
  if (file === INDEX) return 'no-cache';
  // Vite puts a content hash in every /assets/ name: a changed file is a new URL.
  if (urlPath.startsWith('/assets/')) return 'public, max-age=31536000, immutable';
  return 'public, max-age=3600';
}

function sendFile(req, res, file, stat, urlPath, status = 200) {
  const etag = `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
  const headers = {
    'Content-Type': TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream',
    'Cache-Control': cacheControl(urlPath, file),
    'Last-Modified': stat.mtime.toUTCString(),
    ETag: etag,
    'X-Content-Type-Options': 'nosniff',
  };
  if (status === 200 && req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers['Content-Length'] = stat.size;
  res.writeHead(status, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = fs.createReadStream(file);
  stream.on('error', (err) => {
    log(`read ${file}: ${err.message}`);
    res.destroy(err);
  });
  stream.pipe(res);
}

// Maps a request path to a file under ROOT, or returns null for a path that would
// leave it (../, encoded or not, a NUL byte, a backslash).
function resolvePath(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  if (decoded.split('/').includes('..')) return null;
  const file = path.resolve(ROOT, `.${decoded}`);
  if (file !== ROOT && !file.startsWith(ROOT + path.sep)) return null;
  return file;
}

function handle(req, res) {
  let urlPath;
  try {
    // The raw path: URL() would already have folded "..", hiding a traversal attempt.
    urlPath = (req.url || '/').split('?')[0].split('#')[0];
    if (!urlPath.startsWith('/')) throw new Error('not an origin-form path');
  } catch {
    send(req, res, 400, 'bad request\n');
    return;
  }

  if (urlPath === '/health') {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(req, res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
      return;
    }
    sendJson(req, res, 200, { status: 'ok', service: 'frontend', pid: process.pid });
    return;
  }

  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(req, res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }

  const file = resolvePath(urlPath);
  if (file === null) {
    send(req, res, 403, 'forbidden\n');
    return;
  }

  fs.stat(file, (err, stat) => {
    if (!err && stat.isFile()) {
      sendFile(req, res, file, stat, urlPath);
      return;
    }
    if (!err && stat.isDirectory()) {
      const index = path.join(file, 'index.html');
      fs.stat(index, (indexErr, indexStat) => {
        if (!indexErr && indexStat.isFile()) sendFile(req, res, index, indexStat, urlPath);
        else fallback(req, res, urlPath);
      });
      return;
    }
    fallback(req, res, urlPath);
  });
}

// A missing path with no extension is a client-side route: serve the app. A missing
// file (it has an extension), asset or API path is a real 404: an HTML page there would
// only confuse the script or client that asked.
function fallback(req, res, urlPath) {
  const last = urlPath.slice(urlPath.lastIndexOf('/') + 1);
  if (
    path.extname(last) !== '' ||
    urlPath.startsWith('/assets/') ||
    urlPath === '/api' ||
    urlPath.startsWith('/api/')
  ) {
    send(req, res, 404, 'not found\n');
    return;
  }
  fs.stat(INDEX, (err, stat) => {
    if (err) {
      send(req, res, 404, 'not found (no index.html in dist/)\n');
      return;
    }
    sendFile(req, res, INDEX, stat, urlPath);
  });
}

const server = http.createServer((req, res) => {
  try {
    handle(req, res);
  } catch (err) {
    log(`error on ${req.method} ${req.url}: ${err.stack || err}`);
    if (!res.headersSent) send(req, res, 500, 'internal error\n');
    else res.destroy();
  }
});
server.keepAliveTimeout = 65000;

server.on('error', (err) => {
  log(`cannot listen on ${HOST}:${PORT}: ${err.message}`);
  process.exit(1);
});

server.listen(PORT, HOST, () => {
  if (!fs.existsSync(INDEX)) log(`warning: ${INDEX} is missing; run npm run build`);
  log(`listening on http://${HOST}:${PORT}, serving ${ROOT}`);
  // Under PM2 (wait_ready in ecosystem.config.js): a start or restart is done now.
  if (typeof process.send === 'function') process.send('ready');
});

// PM2 stops an app with SIGINT (then SIGKILL after kill_timeout); docker stop of a bare
// `node server.js` sends SIGTERM. Either way: stop accepting, drop idle keep-alive
// connections, give requests in flight a moment, exit 0.
let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: closing`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => {
    server.closeAllConnections();
    process.exit(0);
  }, 1000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
