#!/usr/bin/env python3
"""The demo's frontend and backend: tiny HTTP servers on loopback.

usage: demo_upstreams.py frontend|backend PORT [PIDFILE]

frontend (127.0.0.1:3000): a page that calls the backend through the manager.
backend  (127.0.0.1:8000): /api/health and a small in-memory /api/items/ store.
Each runs as a process of its own, so that one can be killed and healed by dockmaster.
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>dockmaster demo</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>dockmaster demo</h1>
<p>This page comes from the <b>frontend</b> service; the list below from the
<b>backend</b> service at <code>/api/items/</code>, both through dockmaster.</p>
<form id="add"><input id="name" placeholder="new item"> <button>add</button></form>
<ul id="items"></ul>
<script>
async function load() {
  const items = await (await fetch('/api/items/')).json();
  document.getElementById('items').innerHTML =
    items.map(i => '<li>' + i.id + ': ' + i.name + '</li>').join('');
}
document.getElementById('add').onsubmit = async (e) => {
  e.preventDefault();
  await fetch('/api/items/', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({name: document.getElementById('name').value})});
  load();
};
load();
</script></body></html>
"""

items = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    service = "?"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if self.path in ("/health", "/api/health"):
            return self.reply(200, json.dumps({"status": "ok", "service": self.service}))
        if self.service == "frontend":
            return self.reply(200, PAGE, "text/html; charset=utf-8")
        if self.path.startswith("/api/items"):
            with lock:
                return self.reply(200, json.dumps(list(items.values())))
        self.reply(404, json.dumps({"error": "not found"}))

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        with lock:
            item = {"id": len(items) + 1, "name": str(body.get("name", ""))}
            items[item["id"]] = item
        self.reply(201, json.dumps(item))


def serve(service, port):
    handler = type(service, (Handler,), {"service": service})
    ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("frontend", "backend"):
        sys.exit(__doc__)
    if len(sys.argv) > 3:
        with open(sys.argv[3], "w") as pidfile:
            pidfile.write(f"{os.getpid()}\n")
    serve(sys.argv[1], int(sys.argv[2]))
