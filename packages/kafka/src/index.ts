export * from './client'
export * from './topics'
export { Partitioners } from 'kafkajs'
export type { Kafka, Producer, Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs'
