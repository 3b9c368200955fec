// PM2 process file, started by `pm2-runtime` as the container's PID 1.
//
// autorestart: false on purpose. dockmaster is the one healer of this stack: when the
// server dies it sees /health fail and runs `pm2 restart app` in this container, with
// backoff, a cap and a log line for every restart. A PM2 that restarted the app on its
// own would hide the failure from it and restart without limit.
module.exports = {
  apps: [
    {
      name: 'app',
      script: 'server.js',
      cwd: __dirname,
      exec_mode: 'fork',
      instances: 1,
      autorestart: false,
      watch: false,
      // server.js says 'ready' once it listens: `pm2 restart app` returns only then (or
      // after listen_timeout), so the healer's next probe finds it serving.
      wait_ready: true,
      listen_timeout: 5000,
      // PM2 stops the app with SIGINT, then SIGKILL after this; server.js exits in ~1 s.
      kill_timeout: 3000,
      // pm2-runtime streams the app's output to the container's stdout (docker logs);
      // no copies in files that nothing rotates.
      out_file: '/dev/null',
      error_file: '/dev/null',
    },
  ],
};
