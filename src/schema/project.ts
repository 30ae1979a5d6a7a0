// Project: a mirrored DigitalOcean project (cloud_projects), its resources and per-kind counts, the
// projects/project queries and the setProjectTenant mutation.
import { queryFromInfo } from '@pothos/plugin-prisma';
import { parseId, parseTenantId } from '../domain/arguments.js';
import { isRecordNotFound } from '../domain/errors.js';
import { projectWhere, resourceWhere, type KindCount } from '../domain/inventory.js';
import { canSeeTenant, projectVisibility } from '../domain/visibility.js';
import type { CloudProject, Prisma } from '../generated/prisma/client.js';
import { badInput, builder } from './builder.js';
import { countedConnection } from './connection.js';
import { ResourceConnection, ResourceFilter, ResourceRef } from './resource.js';

export const ProjectRef = builder.prismaObject('CloudProject', {
  name: 'Project',
  description: 'A DigitalOcean project; its tenant is set by an operator (setProjectTenant), never by a sync.',
  // Only what a nested project (Resource.project, on every row of a resource page) is nearly always asked for, and
  // the tenant its visibility check needs: the rest is selected by the fields that read it, when asked for.
  select: { id: true, name: true, tenantId: true },
  fields: (t) => ({
    id: t.id({ resolve: (project) => project.id }),
    providerId: t.exposeString('providerId', { description: 'The project uuid at DigitalOcean.' }),
    name: t.string({ resolve: (project) => project.name }),
    description: t.exposeString('description', { nullable: true }),
    purpose: t.exposeString('purpose', { nullable: true }),
    environment: t.exposeString('environment', { nullable: true }),
    isDefault: t.exposeBoolean('isDefault'),
    tenantId: t.string({ nullable: true, resolve: (project) => project.tenantId }),
    providerCreatedAt: t.expose('providerCreatedAt', { type: 'DateTime', nullable: true }),
    providerUpdatedAt: t.expose('providerUpdatedAt', { type: 'DateTime', nullable: true }),
    firstSeenAt: t.expose('firstSeenAt', { type: 'DateTime' }),
    lastSeenAt: t.expose('lastSeenAt', { type: 'DateTime' }),
    staleAt: t.expose('staleAt', { type: 'DateTime', nullable: true }),
    stale: t.boolean({ select: { staleAt: true }, resolve: (project) => project.staleAt !== null }),
    resources: t.relatedConnection(
      'resources',
      {
        cursor: 'id',
        totalCount: true,
        description: 'The project’s resources the viewer may see, by id.',
        args: { filter: t.arg({ type: ResourceFilter }) },
        // Planned into the parent query (a lateral join), so a page of projects with their resources is one statement.
        query: (args, ctx) => ({ where: resourceWhere(args.filter, ctx.viewer), orderBy: { id: 'asc' } }),
      },
      ResourceConnection,
    ),
    resourceCounts: t.field({
      type: [ResourceKindCount],
      description: 'How many resources of each kind the project has (that the viewer may see).',
      // One grouped statement for every project of the page (src/schema/loaders.ts).
      resolve: (project, _args, ctx) => ctx.loaders.projectKindCounts(project.id),
    }),
  }),
});

// Resource.project is declared here, beside Project, so the two types do not import each other.
builder.prismaObjectField(ResourceRef, 'project', (t) =>
  t.field({
    type: ProjectRef,
    nullable: true,
    // Planned into the parent's query (one SQL statement with relationJoins), with the tenant to check.
    select: (_args, _ctx, nestedSelection) => ({ cloudProject: nestedSelection(true) }),
    // A project of another tenant stays hidden even when one of its resources is visible.
    resolve: (resource, _args, ctx) =>
      resource.cloudProject && canSeeTenant(ctx.viewer, resource.cloudProject.tenantId) ? resource.cloudProject : null,
  }),
);

const ResourceKindCount = builder.objectRef<KindCount>('ResourceKindCount').implement({
  fields: (t) => ({
    kind: t.exposeString('kind'),
    total: t.exposeInt('total'),
    live: t.exposeInt('live'),
    stale: t.exposeInt('stale'),
  }),
});

const ProjectConnection = countedConnection(ProjectRef, 'Project');

const ProjectFilter = builder.inputType('ProjectFilter', {
  fields: (t) => ({
    tenantId: t.string({ description: 'Projects of this tenant (a non-admin may only name their own).' }),
    unassigned: t.boolean({ description: 'true: projects without a tenant (admin only in effect).' }),
    search: t.string({ description: 'Case-insensitive part of the name.' }),
    includeStale: t.boolean({ defaultValue: true, description: 'false: only projects still listed by DigitalOcean.' }),
  }),
});

builder.queryFields((t) => ({
  projects: t.prismaConnection(
    {
      type: ProjectRef,
      cursor: 'id',
      authScopes: { member: true },
      description: 'Projects the viewer may see (an admin: all), by name.',
      args: { filter: t.arg({ type: ProjectFilter }) },
      resolve: (query, _root, args, ctx) =>
        ctx.prisma.cloudProject.findMany({
          ...query,
          where: projectWhere(args.filter, ctx.viewer),
          orderBy: [{ name: 'asc' }, { id: 'asc' }],
        }),
      totalCount: (_connection, args, ctx) =>
        ctx.prisma.cloudProject.count({ where: projectWhere(args.filter, ctx.viewer) }),
    },
    ProjectConnection,
  ),
  project: t.prismaField({
    type: ProjectRef,
    nullable: true,
    authScopes: { member: true },
    description: 'One project by id; null when it does not exist or belongs to another tenant.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.cloudProject.findFirst({
        ...query,
        where: { AND: [{ id: parseId(args.id, 'id') }, projectVisibility(ctx.viewer)] },
      }),
  }),
}));

interface SetProjectTenantResult {
  project: CloudProject;
  resourcesUpdated: number;
}

const SetProjectTenantPayload = builder.objectRef<SetProjectTenantResult>('SetProjectTenantPayload').implement({
  fields: (t) => ({
    project: t.field({ type: ProjectRef, resolve: (result) => result.project }),
    resourcesUpdated: t.exposeInt('resourcesUpdated', {
      description: 'Resources of the project attributed by DigitalOcean membership whose tenant was set with it.',
    }),
  }),
});

builder.mutationFields((t) => ({
  setProjectTenant: t.field({
    type: SetProjectTenantPayload,
    authScopes: { admin: true },
    description:
      'Sets (or, with tenantId null, clears) the tenant of a project, and of its resources attributed by project membership. Platform admin only.',
    args: {
      projectId: t.arg.id({ required: true }),
      tenantId: t.arg.string({ description: 'null clears the tenant.' }),
    },
    resolve: async (_root, args, ctx, info) => {
      const projectId = parseId(args.projectId, 'projectId');
      const tenantId = args.tenantId == null ? null : parseTenantId(args.tenantId, 'tenantId');
      try {
        // One transaction: the project and its project-attributed resources never disagree.
        const [project, resources] = await ctx.prisma.$transaction([
          ctx.prisma.cloudProject.update({
            // Given a select, queryFromInfo answers with a select (its type also allows an include form).
            ...(queryFromInfo({ context: ctx, info, path: ['project'], select: { id: true } }) as {
              select: Prisma.CloudProjectSelect;
            }),
            where: { id: projectId },
            data: { tenantId },
          }),
          ctx.prisma.cloudResource.updateMany({
            where: { cloudProjectId: projectId, attributionSource: 'project' },
            data: { tenantId },
          }),
        ]);
        return { project, resourcesUpdated: resources.count };
      } catch (error) {
        if (isRecordNotFound(error)) throw badInput(`No project with id ${projectId}`, 'projectId');
        throw error;
      }
    },
  }),
}));
