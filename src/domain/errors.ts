// The errors the domain layer throws. They are plain errors, so the domain knows nothing of its callers:
// the GraphQL layer turns them into GraphQLErrors (src/schema/errors.ts), REST into 400 and 403 answers.

/** An argument the caller can fix (bad format, out of range); `argument` names it, e.g. "filter.search". */
export class InvalidArgumentError extends Error {
  constructor(
    message: string,
    readonly argument?: string,
  ) {
    super(message);
    this.name = 'InvalidArgumentError';
  }
}

/** The viewer asked for rows it may not see (another tenant's), and is told so rather than given nothing. */
export class ForbiddenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

/** Prisma's "no row matched the where of an update" (P2025). */
export function isRecordNotFound(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'P2025';
}
