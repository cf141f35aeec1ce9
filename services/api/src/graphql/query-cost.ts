import {
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql'

/**
 * The most rows a complete getConnectionHistory (no paging arguments) returns; a user with more
 * gets HISTORY_TOO_LARGE, which says to page.
 */
export const COMPLETE_HISTORY_CAP = 10_000

/** What a root field costs when its arguments do not say: its default page, or its weight as an aggregate. */
const FIXED_COST: Readonly<Record<string, number>> = {
  getOnlineSessions: 100,
  whoHadIp: 10,
  userByName: 1,
  apiClients: 100,
  usage: 366,
  topUsers: 10,
  // Aggregates read many rows for one answer: weighted so a handful fit in one query, hundreds do not.
  sessionTimeline: 1000,
  terminateCauses: 1000,
  usersOverQuota: 1000,
  onlineSessionCount: 100,
  __schema: 100,
  __type: 10,
  __typename: 0,
}

/** Mutations each cost this (Disconnect and CoA have their own rate limit too). */
const MUTATION_COST = 10

type Variables = Readonly<Record<string, unknown>> | undefined

function argument(field: FieldNode, name: string, variables: Variables): unknown {
  const node = field.arguments?.find((a) => a.name.value === name)?.value
  return node === undefined ? undefined : valueOf(node, variables)
}

function valueOf(node: ValueNode, variables: Variables): unknown {
  if (node.kind === Kind.VARIABLE) return variables?.[node.name.value]
  if (node.kind === Kind.INT) return Number(node.value)
  if (node.kind === Kind.NULL) return null
  if (node.kind === Kind.STRING) return node.value
  return undefined
}

/** A page size as given, else `otherwise` (an invalid one is the resolver's to refuse; it costs the most). */
function pageOf(field: FieldNode, variables: Variables, otherwise: number): number {
  const first = argument(field, 'first', variables)
  if (first === undefined || first === null) return otherwise
  return typeof first === 'number' && Number.isInteger(first) && first > 0 ? first : COMPLETE_HISTORY_CAP
}

function fieldCost(field: FieldNode, variables: Variables): number {
  const name = field.name.value
  if (name === 'getConnectionHistory') {
    const paged = argument(field, 'first', variables) != null || argument(field, 'after', variables) != null
    return paged ? pageOf(field, variables, 100) : COMPLETE_HISTORY_CAP
  }
  if (name === 'getOnlineSessions' || name === 'topUsers') return pageOf(field, variables, FIXED_COST[name]!)
  return FIXED_COST[name] ?? 1
}

/**
 * What a request may make the database read, in rows: each root field by its page size (aliases
 * count once each), an aggregate by its weight. Nested fields are read with their root's rows.
 * Variables are read, so the cost of `first: $n` is that of n.
 */
export function queryCost(document: DocumentNode, operationName: string | undefined, variables: Variables): number {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  )
  const operation =
    operationName === undefined ? operations[0] : operations.find((o) => o.name?.value === operationName)
  if (!operation || operation.operation === 'subscription') return 0
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((f) => [f.name.value, f]),
  )
  const seen = new Set<string>()
  const rootCost = (selections: SelectionSetNode): number =>
    selections.selections.reduce((sum, selection) => {
      if (selection.kind === Kind.FIELD)
        return sum + (operation.operation === 'mutation' ? MUTATION_COST : fieldCost(selection, variables))
      if (selection.kind === Kind.INLINE_FRAGMENT) return sum + rootCost(selection.selectionSet)
      const fragment = fragments.get(selection.name.value)
      // A fragment spread twice at the root selects its fields once; a cycle is the validator's to refuse.
      if (!fragment || seen.has(fragment.name.value)) return sum
      seen.add(fragment.name.value)
      return sum + rootCost(fragment.selectionSet)
    }, 0)
  return rootCost(operation.selectionSet)
}
