// Argument validation shared by the schema files: every rejection is a BAD_USER_INPUT naming the argument.
import { badInput } from './builder.js';

const MAX_TEXT = 200;
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/** Database ids are positive integers; the API shows them as ID strings. */
export function parseId(value: string | number, argument: string): number {
  const text = String(value).trim();
  const id = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(id) || id < 1 || id > 2_147_483_647) throw badInput(`${argument} must be a positive integer id (got "${text.slice(0, 40)}")`, argument);
  return id;
}

export function parseOptionalId(value: string | number | null | undefined, argument: string): number | undefined {
  return value === null || value === undefined ? undefined : parseId(value, argument);
}

export function parseTenantId(value: string, argument: string): string {
  const tenantId = value.trim();
  if (!TENANT_ID.test(tenantId)) {
    throw badInput(`${argument} must be 1-128 characters: letters, digits and . _ : @ - (starting with a letter or digit)`, argument);
  }
  return tenantId;
}

/** A non-empty, bounded text argument, trimmed. */
export function textArg(value: string, argument: string): string {
  const text = value.trim();
  if (text === '') throw badInput(`${argument} must not be empty`, argument);
  if (text.length > MAX_TEXT) throw badInput(`${argument} must be at most ${MAX_TEXT} characters`, argument);
  return text;
}

/** Prisma's "no row matched the where of an update" (P2025). */
export function isRecordNotFound(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'P2025';
}
