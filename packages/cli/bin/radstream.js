#!/usr/bin/env node
// radstream runs compiled (dist/radstream.js, built by `npm run build` and by npm start's setup)
// when that build is newer than every source file; otherwise, as in development and tests, from
// its TypeScript sources through tsx's loader, so an edit never runs stale code.
import { readdirSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const compiled = `${root}dist/radstream.js`

function newestSourceMs(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(path))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs)
  }
  return newest
}

function compiledIsCurrent() {
  let builtMs
  try {
    builtMs = statSync(compiled).mtimeMs
  } catch {
    return false
  }
  const sourceDirs = ['migrations']
  for (const group of ['packages', 'services'])
    for (const name of readdirSync(`${root}${group}`)) sourceDirs.push(`${group}/${name}/src`)
  return sourceDirs.every((dir) => {
    try {
      return newestSourceMs(`${root}${dir}`) <= builtMs
    } catch {
      return true // a package without sources
    }
  })
}

if (compiledIsCurrent()) {
  await import(compiled)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../src/main.ts')
}
