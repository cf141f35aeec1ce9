const SEED = 0x9747b28c
const M = 0x5bd1e995
// Keys are encoded here first; a longer one gets a buffer of its own.
const scratch = Buffer.allocUnsafe(1024)

/**
 * Kafka's murmur2 (the Java client's Utils.murmur2): in 32-bit integer arithmetic, which gives the same low 32 bits, a tenth
 * of the time and no allocation.
 */
function murmur2(data: Uint8Array, length = data.length): number {
  let h = SEED ^ length
  const words = length >>> 2
  for (let i = 0; i < words; i++) {
    const at = i * 4
    let k = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  // The last one to three octets, as the Java client's fall-through switch takes them.
  const tail = length & ~3
  const left = length & 3
  if (left > 0) {
    if (left === 3) h ^= data[tail + 2]! << 16
    if (left >= 2) h ^= data[tail + 1]! << 8
    h = Math.imul(h ^ data[tail]!, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  return h ^ (h >>> 15)
}

/** The partition Kafka's clients give a record with this key: murmur2 of its UTF-8 bytes, made positive, modulo the count. */
export function keyPartition(key: string, partitions: number): number {
  const fits = Buffer.byteLength(key) <= scratch.length
  const data = fits ? scratch : Buffer.from(key)
  const length = fits ? scratch.write(key) : data.length
  return (murmur2(data, length) & 0x7fffffff) % partitions
}
