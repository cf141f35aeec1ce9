import { scratchTopic } from '@radstream/kafka'

/** Every topic a test run creates starts with this, so the next run can remove the leftovers. */
export const TEST_TOPIC_PREFIX = 'radius.accounting.test-'

/** A topic of the calling test's own, e.g. `testTopic('fuzz')`. */
export function testTopic(purpose: string): string {
  return scratchTopic(TEST_TOPIC_PREFIX, purpose)
}
