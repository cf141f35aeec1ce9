import { Counter, Gauge, Registry } from 'prom-client'

/** Where a request was refused for coming too often. */
export type RateLimitedEndpoint = 'token' | 'audit_log' | 'graphql'

/** How a token request ended. */
export type TokenOutcome = 'issued' | 'invalid_client' | 'invalid_request' | 'invalid_scope' | 'throttled'

/**
 * The API's own Prometheus metrics, in a registry of its own (several apps per process in tests);
 * request durations by route and status come from fastify-metrics into the same registry.
 */
export class ApiMetrics {
  readonly registry = new Registry()
  readonly graphqlOperations = new Counter({
    name: 'radstream_api_graphql_operations_total',
    // The root field, not the client's operation name: clients choose names, the schema bounds fields.
    help: 'GraphQL operations executed, by type, root field and outcome (ok or the first error code)',
    labelNames: ['type', 'field', 'outcome'] as const,
    registers: [this.registry],
  })
  readonly tokenRequests = new Counter({
    name: 'radstream_api_token_requests_total',
    help: 'Requests to the token endpoint, by outcome (issued, invalid_client, invalid_request, invalid_scope, throttled)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly rateLimited = new Counter({
    name: 'radstream_api_rate_limited_total',
    help: 'Requests refused with 429 by a rate limit or throttle, by endpoint (token, audit_log, graphql)',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  })
  readonly subscriptionsOpen = new Gauge({
    name: 'radstream_api_subscription_connections',
    help: 'GraphQL WebSocket connections signed in and open',
    registers: [this.registry],
  })

  token(outcome: TokenOutcome): void {
    this.tokenRequests.inc({ outcome })
    if (outcome === 'throttled') this.rateLimited.inc({ endpoint: 'token' })
  }
}
