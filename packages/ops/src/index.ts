export * from './ops-server'
