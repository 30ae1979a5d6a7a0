import type { Viewer } from '../auth.js';
import { SERVICE_NAME, SERVICE_VERSION } from '../version.js';
import { builder } from './builder.js';

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  description: 'Who the token says the caller is.',
  fields: (t) => ({
    subject: t.exposeString('subject'),
    admin: t.exposeBoolean('admin', { description: 'Holds the platform admin role.' }),
    tenantId: t.exposeString('tenantId', { nullable: true }),
  }),
});

builder.queryFields((t) => ({
  serviceVersion: t.string({
    description: `The running ${SERVICE_NAME} version (public, like /api/health).`,
    resolve: () => SERVICE_VERSION,
  }),
  viewer: t.field({
    type: ViewerRef,
    authScopes: { viewer: true },
    description: 'The caller, as read from the token.',
    resolve: (_root, _args, ctx) => ctx.viewer!,
  }),
}));
