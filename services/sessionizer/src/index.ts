export { startSessionizer, type RunningSessionizer } from './sessionizer'
export { applyBatch, type BatchOptions } from './apply-batch'
export {
  closeStaleChunk,
  closeStaleSessions,
  deleteExpired,
  manageMonthPartitions,
  manageReportBuckets,
} from './maintenance'
export { sessionKey } from './session-key'
export { SessionizerMetrics } from './metrics'
