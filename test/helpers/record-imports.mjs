// Loaded with `node --import` into a child process: records every module specifier the process resolves into the
// file named by RECORD_IMPORTS_FILE, so a test can tell which packages a process loaded.
import { register } from 'node:module';

const file = process.env.RECORD_IMPORTS_FILE;
if (file) {
  const hooks = `
    import { appendFileSync } from 'node:fs';
    export async function resolve(specifier, context, next) {
      const result = await next(specifier, context);
      appendFileSync(${JSON.stringify(file)}, result.url + '\\n');
      return result;
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}
