// The custom scalars: DateTime (ISO 8601 instants), JSON (stored provider details) and Decimal (money).
import { GraphQLError, Kind } from 'graphql';
import { badInput, builder } from './builder.js';

builder.scalarType('DateTime', {
  description: 'An instant, as an ISO 8601 string with a time zone (e.g. 2026-01-31T12:00:00.000Z).',
  serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(value).toISOString()),
  parseValue: (value) => parseDate(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be an ISO 8601 string');
    return parseDate(ast.value);
  },
});

/** Years PostgreSQL and every client can hold as an ISO 8601 instant (year 0 and negative years are not). */
const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00.000Z');
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

function parseDate(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime()))
    throw badInput('DateTime must be an ISO 8601 string such as 2026-01-31T12:00:00Z');
  if (date.getTime() < FIRST_INSTANT || date.getTime() > LAST_INSTANT)
    throw badInput('DateTime must lie between 0001-01-01 and 9999-12-31');
  return date;
}

builder.scalarType('JSON', {
  description: 'Arbitrary JSON, as stored (the provider’s own details of a resource).',
  serialize: (value) => value,
  parseValue: (value) => value,
});

// Money is a decimal string ("1234.56"), never a Float: a float cannot hold cents exactly.
const DECIMAL = /^-?\d+(\.\d+)?$/;

function decimalOut(value: unknown): string {
  const text =
    typeof value === 'string'
      ? value
      : value !== null && typeof value === 'object'
        ? (value as { toString(): string }).toString()
        : undefined;
  if (text === undefined || !DECIMAL.test(text)) throw new GraphQLError(`Decimal cannot represent ${typeof value}`);
  return text;
}

function decimalIn(value: unknown): string {
  if (typeof value !== 'string' || !DECIMAL.test(value.trim()))
    throw new GraphQLError('Decimal must be a decimal string such as "12.34"');
  return value.trim();
}

builder.scalarType('Decimal', {
  description: 'An exact decimal number as a string, e.g. "1234.56" (money is in USD). Never a float.',
  serialize: decimalOut,
  parseValue: decimalIn,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('Decimal must be a string literal such as "12.34"');
    return decimalIn(ast.value);
  },
});
