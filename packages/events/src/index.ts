export * from './accounting-record'
export * from './record-codec'
export * from './record-from-packet'
export * from './dead-letter'
