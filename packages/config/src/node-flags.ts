/**
 * Node and V8 options each service starts with, where its defaults do not suit it. Options V8
 * reads only at start (its garbage collector's threads, the young generation's size) cannot be
 * set from inside the process, so whatever launches a service passes them: `radstream up`, the
 * benchmarks, the image's command. RADSTREAM_<SERVICE>_NODE_OPTIONS replaces a service's own.
 */
const SERVICE_NODE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  collector: [],
  sessionizer: [],
  api: [],
}

export function serviceNodeFlags(service: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const override = env[`RADSTREAM_${service.toUpperCase()}_NODE_OPTIONS`]
  if (override !== undefined) return override.split(/\s+/).filter((flag) => flag !== '')
  return [...(SERVICE_NODE_FLAGS[service] ?? [])]
}
