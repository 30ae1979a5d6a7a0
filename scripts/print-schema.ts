// Prints the GraphQL schema built from the code to schema.graphql (`npm run schema:print`), or, with --check,
// fails when the checked-in schema.graphql differs from it (`npm run schema:check`, run by CI).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSchema } from 'graphql';
import { schema } from '../src/schema/index.js';

const file = fileURLToPath(new URL('../schema.graphql', import.meta.url));
const printed = `${printSchema(schema)}\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    // a missing file is a drift like any other
  }
  if (current !== printed) {
    const a = current.split('\n');
    const b = printed.split('\n');
    const line = a.findIndex((text, i) => text !== b[i]);
    process.stderr.write(
      `schema.graphql is out of date with the code (first difference at line ${(line === -1 ? a.length : line) + 1}).\n` +
        'Run `npm run schema:print` and commit schema.graphql.\n',
    );
    process.exit(1);
  }
  process.stdout.write('schema.graphql matches the code\n');
} else {
  writeFileSync(file, printed);
  process.stdout.write(`wrote ${file}\n`);
}
