export * from './change-attributes'
export * from './errors'
export * from './exchange'
export * from './session-actions'
