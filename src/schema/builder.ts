// The Pothos builder: Prisma-backed object types, Relay-style connections, and scope auth.
// Every data field names the scope it needs; the scopes come from the request's Viewer (src/auth.ts).
// The type files (one per GraphQL type or area) register on it; index.ts imports them all and builds the schema.
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import { AuthError } from '../auth.js';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import type { GraphQLContext } from './context.js';

/** Connection page sizes (first/last): the default, and the most one page may hold (the cost limit uses both). */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  AuthScopes: {
    /** Any valid token. */
    viewer: boolean;
    /** An admin, or a viewer with a tenant: may read data (a tenant only its own). */
    member: boolean;
    /** The platform admin role: money, raw attrs, other tenants, sync mutations. */
    admin: boolean;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
    /** Money and other exact numbers, as decimal strings (src/schema/scalars.ts). */
    Decimal: { Input: string; Output: string | { toString(): string } };
  };
  Connection: { totalCount?: number | (() => number | Promise<number>) };
}>({
  // scope-auth first, so no other plugin's wrapper runs before a field is authorized.
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    // Subscriptions are authorized once, when they start (not on every event).
    authorizeOnSubscribe: true,
    authScopes: (context) => ({
      viewer: context.viewer !== null,
      member: context.viewer !== null && (context.viewer.admin || context.viewer.tenantId !== null),
      admin: context.viewer?.admin === true,
    }),
    unauthorizedError: (_parent, context, info) => {
      if (context.viewer === null) {
        return new AuthError('Authentication required: send "Authorization: Bearer <token>"', 'UNAUTHENTICATED');
      }
      if (!context.viewer.admin && context.viewer.tenantId === null) {
        return new AuthError(
          `Not allowed to read ${info.parentType.name}.${info.fieldName}: the token names no tenant`,
          'FORBIDDEN',
        );
      }
      return new AuthError(
        `Not allowed to read ${info.parentType.name}.${info.fieldName}: platform admin only`,
        'FORBIDDEN',
      );
    },
  },
  prisma: {
    // The client is created at startup (after the database is chosen), so it comes from the context.
    client: (context) => context.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: true,
    filterConnectionTotalCount: true,
    maxConnectionSize: MAX_PAGE_SIZE,
    defaultConnectionSize: DEFAULT_PAGE_SIZE,
  },
  relay: {
    // No global `node`/`nodes` lookups: they would bypass the tenant filters of the root fields.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    clientMutationId: 'omit',
    cursorType: 'String',
  },
});

/** An input the caller can fix: BAD_USER_INPUT, with the argument named. */
export function badInput(message: string, argument?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...(argument ? { argument } : {}) } });
}

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
