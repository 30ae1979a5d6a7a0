import { SERVICE_NAME, SERVICE_VERSION } from '../version.js';
import { builder } from './builder.js';

builder.queryType({
  fields: (t) => ({
    serviceVersion: t.string({
      description: `The running ${SERVICE_NAME} version.`,
      resolve: () => SERVICE_VERSION,
    }),
  }),
});
