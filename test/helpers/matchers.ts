// Vitest's asymmetric matchers, typed `unknown` instead of vitest's `any`, so they can sit inside an expected
// object literal under typed linting (no-unsafe-assignment) without turning off the check for the whole line.
import { expect } from 'vitest';

/** expect.any(String) */
export const anyString = (): unknown => expect.any(String);

/** expect.stringContaining(text) */
export const stringContaining = (text: string): unknown => expect.stringContaining(text);

/** expect.stringMatching(pattern) */
export const stringMatching = (pattern: string | RegExp): unknown => expect.stringMatching(pattern);
