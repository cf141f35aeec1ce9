import { Kind, type DocumentNode, type GraphQLError, type OperationDefinitionNode } from 'graphql'
import type { FastifyInstance } from 'fastify'
import type { MercuriusContext } from 'mercurius'
import { apiErrors } from '../errors'
import type { ApiMetrics } from '../metrics'

interface OperationLabels {
  readonly type: string
  readonly field: string
}

const labelsOf = new WeakMap<MercuriusContext, OperationLabels>()

/** The operation the request runs: the one it names, else the document's only one. */
function operationOf(document: DocumentNode, name: unknown): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  )
  return operations.find((o) => typeof name === 'string' && o.name?.value === name) ?? operations[0]
}

/** ok, or the first error's code when it is one of ours (a bounded set), else "error". */
function outcomeOf(errors: readonly GraphQLError[] | undefined): string {
  if (!errors || errors.length === 0) return 'ok'
  const code = errors[0]!.extensions?.code
  return typeof code === 'string' && Object.hasOwn(apiErrors, code) ? code : 'error'
}

/** Counts every executed GraphQL operation by type, root field and outcome. */
export function countGraphqlOperations(app: FastifyInstance, metrics: ApiMetrics): void {
  app.graphql.addHook('preExecution', (_schema, document, context) => {
    const body = context.reply.request.body as { operationName?: unknown } | undefined
    const operation = operationOf(document, body?.operationName)
    const root = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD)
    labelsOf.set(context, {
      type: operation?.operation ?? 'unknown',
      field: root?.kind === Kind.FIELD ? root.name.value : 'unknown',
    })
  })
  app.graphql.addHook('onResolution', (execution, context) => {
    const labels = labelsOf.get(context) ?? { type: 'unknown', field: 'unknown' }
    const outcome = outcomeOf(execution.errors)
    metrics.graphqlOperations.inc({ ...labels, outcome })
    if (outcome === 'RATE_LIMITED') metrics.rateLimited.inc({ endpoint: 'graphql' })
  })
}
