// .mjs: the package itself is CommonJS, so that server.js and ecosystem.config.js run
// in the image, where there is no package.json, exactly as they do here.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  // `npm run dev` only: send the API to a backend on this machine.
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
});
