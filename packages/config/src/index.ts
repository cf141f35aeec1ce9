export * from './env'
export * from './logger'
export * from './settings'
export * from './paths'
