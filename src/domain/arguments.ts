// Validation of the values callers pass in (ids, tenant ids, text, lists), shared by GraphQL and REST.
// Every rejection is an InvalidArgumentError naming the argument.
import { InvalidArgumentError } from './errors.js';

const MAX_TEXT = 200;
/** The most values one list argument may hold (kinds, statuses, regions). */
const MAX_LIST = 50;
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/** Database ids are positive integers; the API shows them as ID strings. */
export function parseId(value: string | number, argument: string): number {
  const text = String(value).trim();
  const id = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(id) || id < 1 || id > 2_147_483_647) {
    throw new InvalidArgumentError(`${argument} must be a positive integer id (got "${text.slice(0, 40)}")`, argument);
  }
  return id;
}

export function parseOptionalId(value: string | number | null | undefined, argument: string): number | undefined {
  return value === null || value === undefined ? undefined : parseId(value, argument);
}

export function parseTenantId(value: string, argument: string): string {
  const tenantId = value.trim();
  if (!TENANT_ID.test(tenantId)) {
    throw new InvalidArgumentError(
      `${argument} must be 1-128 characters: letters, digits and . _ : @ - (starting with a letter or digit)`,
      argument,
    );
  }
  return tenantId;
}

/** Control characters (NUL among them, which PostgreSQL refuses in text) never belong in a name, tag or kind. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A non-empty, bounded text argument, trimmed, without control characters. */
export function textArg(value: string, argument: string): string {
  const text = value.trim();
  if (text === '') throw new InvalidArgumentError(`${argument} must not be empty`, argument);
  if (CONTROL.test(text))
    throw new InvalidArgumentError(`${argument} must not contain control characters (such as NUL)`, argument);
  if (text.length > MAX_TEXT)
    throw new InvalidArgumentError(`${argument} must be at most ${MAX_TEXT} characters`, argument);
  return text;
}

/** A list argument of at most MAX_LIST values, returned as given. */
export function boundedList<T>(values: readonly T[], argument: string): readonly T[] {
  if (values.length > MAX_LIST)
    throw new InvalidArgumentError(`${argument} may list at most ${MAX_LIST} values`, argument);
  return values;
}

/** A bounded list of text values, each trimmed and checked as textArg. */
export function textListArg(values: readonly string[], argument: string): string[] {
  return boundedList(values, argument).map((value) => textArg(value, argument));
}

/** Prisma's contains is a LIKE: its wildcards are escaped, so a search for "50%" means that text. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}
