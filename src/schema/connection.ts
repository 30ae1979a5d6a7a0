// Relay connections with a totalCount field: the one shape every paged list of the schema has.
import type { OutputType } from '@pothos/core';
import { builder } from './builder.js';

type Types = typeof builder.$inferSchemaTypes;

/** `<Name>Connection` with `<Name>Edge`, and totalCount (counted only when asked for). */
export function countedConnection<Type extends OutputType<Types>>(
  type: Type,
  name: string,
  totalCountDescription?: string,
) {
  return builder.connectionObject(
    {
      type,
      name: `${name}Connection`,
      fields: (t) => ({
        totalCount: t.int({
          ...(totalCountDescription !== undefined && { description: totalCountDescription }),
          resolve: (connection) =>
            typeof connection.totalCount === 'function' ? connection.totalCount() : (connection.totalCount ?? 0),
        }),
      }),
    },
    { name: `${name}Edge` },
  );
}
