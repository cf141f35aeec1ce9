export { startSessionizer, type RunningSessionizer } from './sessionizer'
export { applyBatch } from './apply-batch'
export { closeStaleSessions, deleteExpired } from './maintenance'
export { sessionKey } from './session-key'
