export { startCollector, type RunningCollector } from './collector'
export { handleDatagram } from './accounting-handler'
export { NasRegistry } from './nas-registry'
export { CollectorMetrics } from './metrics'
