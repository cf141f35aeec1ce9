export * from './encode'
export * from './export-rows'
