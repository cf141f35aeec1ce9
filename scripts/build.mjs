// Compiles the radstream command (every service and the CLI) into one ES module, dist/radstream.js:
// the workspace packages inlined, the npm dependencies left to node_modules. Production runs this,
// with no TypeScript loader in the process; tsx stays for tests and development. The local stack
// (starting PostgreSQL and Kafka on this machine) is a development tool: compiled apart into
// dist/local-stack.js, which `radstream up --local` and `radstream stack` load and the production
// image leaves out. Then builds the operator console (vite) into dist/console, which the API
// serves at /console.
// usage: node scripts/build.mjs [outdir]
import { build } from 'esbuild'
import { build as buildConsole } from 'vite'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const outdir = process.argv[2] ?? `${root}dist`

/** Bare imports other than the workspace's own packages stay imports of node_modules. */
const npmDependenciesExternal = {
  name: 'npm-dependencies-external',
  setup(context) {
    context.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@radstream/') ? undefined : { path: args.path, external: true },
    )
  },
}

const started = Date.now()
const result = await build({
  absWorkingDir: root,
  entryPoints: { radstream: 'packages/cli/src/main.ts', 'local-stack': 'packages/stack/src/index.ts' },
  outdir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
  plugins: [npmDependenciesExternal],
})
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0)
process.stderr.write(
  `radstream: built ${outdir}/radstream.js and local-stack.js (${Math.round(bytes / 1024)} KiB) in ${Date.now() - started} ms\n`,
)

const consoleStarted = Date.now()
await buildConsole({ configFile: `${root}packages/console/vite.config.ts`, build: { outDir: `${outdir}/console` } })
process.stderr.write(`radstream: built ${outdir}/console in ${Date.now() - consoleStarted} ms\n`)
