import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql'

/**
 * Refuses documents with more than `max` field selections in all (aliases included): with the
 * depth limit and the page cap, this bounds the work one request can ask for.
 */
export function maxSelections(max: number) {
  return (context: ValidationContext): ASTVisitor => {
    let count = 0
    return {
      Field() {
        count++
        if (count === max + 1) {
          context.reportError(
            new GraphQLError(`the query selects more than ${max} fields`, {
              extensions: { code: 'QUERY_TOO_COMPLEX' },
            }),
          )
        }
      },
    }
  }
}
