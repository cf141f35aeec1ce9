import type { GraphQLResolveInfo, SelectionSetNode } from 'graphql'
import { ALL_RECORD_FIELDS, type RecordField } from './queries'

const RECORD_FIELDS = new Set<string>(ALL_RECORD_FIELDS)

/**
 * The ConnectionRecord fields a query asks of the resolver's field, fragments and aliases included,
 * so that the database reads only those columns.
 */
export function requestedRecordFields(info: GraphQLResolveInfo): RecordField[] {
  const found = new Set<RecordField>()
  const spread = new Set<string>()
  const visit = (selectionSet: SelectionSetNode | undefined) => {
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === 'Field') {
        if (RECORD_FIELDS.has(selection.name.value)) found.add(selection.name.value as RecordField)
      } else if (selection.kind === 'InlineFragment') {
        visit(selection.selectionSet)
      } else if (!spread.has(selection.name.value)) {
        spread.add(selection.name.value)
        visit(info.fragments[selection.name.value]?.selectionSet)
      }
    }
  }
  for (const node of info.fieldNodes) visit(node.selectionSet)
  return [...found]
}
