// Domain errors as the GraphQL errors clients see: an InvalidArgumentError is a BAD_USER_INPUT naming the
// argument, a ForbiddenError a FORBIDDEN (with HTTP 403, like every AuthError). Applied to every error of
// every result (Yoga's error masking, src/http/graphql.ts), so resolvers let domain errors through as they are.
import { GraphQLError } from 'graphql';
import { AuthError } from '../auth.js';
import { ForbiddenError, InvalidArgumentError } from '../domain/errors.js';
import { badInput } from './builder.js';

/** The client's view of an error raised while executing: domain errors mapped, anything else unchanged. */
export function fromDomainError(error: unknown): unknown {
  if (!(error instanceof GraphQLError)) return error;
  const original = error.originalError;
  const mapped =
    original instanceof InvalidArgumentError
      ? badInput(original.message, original.argument)
      : original instanceof ForbiddenError
        ? new AuthError(original.message, 'FORBIDDEN')
        : undefined;
  if (!mapped) return error;
  // Where it happened (path, locations) stays; what it says comes from the mapped error.
  return new GraphQLError(mapped.message, {
    ...(error.nodes && { nodes: error.nodes }),
    ...(error.source && { source: error.source }),
    ...(error.positions && { positions: error.positions }),
    ...(error.path && { path: error.path }),
    extensions: mapped.extensions,
  });
}
