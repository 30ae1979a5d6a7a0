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

/** The largest id a cursor can name (ids are PostgreSQL integers). */
const MAX_ID = 2_147_483_647;

/**
 * What is wrong with an `after`/`before` value, or undefined for a cursor this API could have issued. Every
 * connection pages by the integer id (Pothos' prisma cursor: base64 of `GPC:N:<id>`); anything else would reach
 * the database as NaN, a fraction or an out-of-range number and fail there as an internal error.
 */
export function cursorProblem(cursor: string): string | undefined {
  const decoded = Buffer.from(cursor, 'base64').toString('latin1');
  const id = /^GPC:N:(\d{1,10})$/.exec(decoded)?.[1];
  if (id === undefined || Number(id) > MAX_ID)
    return 'is not a cursor of this API (use pageInfo.endCursor / startCursor or edges.cursor as given)';
  return undefined;
}
