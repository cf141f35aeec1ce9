export * from './encode'
export * from './export-rows'
export * from './export-stream'
