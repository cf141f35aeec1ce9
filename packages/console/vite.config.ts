import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

// The console is served by the API under /console; file names carry content hashes, so the API can
// let browsers cache every asset for a year and only index.html must be asked for again.
export default defineConfig({
  root: fileURLToPath(new URL('./app', import.meta.url)),
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
  logLevel: 'warn',
})
