// Resource: one mirrored DigitalOcean resource (cloud_resources), the resources/resource queries and
// the classifyResource mutation.
import { parseId, parseOptionalId, parseTenantId } from '../domain/arguments.js';
import { isRecordNotFound } from '../domain/errors.js';
import { resourceOrder, resourceWhere } from '../domain/inventory.js';
import { resourceVisibility } from '../domain/visibility.js';
import { badInput, builder } from './builder.js';
import { countedConnection } from './connection.js';

/** The columns a page of resources shows (and what a nested resource is asked for), read with every row. */
const RESOURCE_PAGE_COLUMNS = { id: true, kind: true, name: true, region: true, status: true, tags: true } as const;

export const ResourceRef = builder.prismaObject('CloudResource', {
  name: 'Resource',
  description: 'A DigitalOcean resource as last listed: rows are kept when it disappears (then `stale`).',
  // Select mode, with the columns almost every query reads selected for every row: fields reading them need no
  // selection of their own, which keeps plugin-prisma's per-row check off them. The rest (provider id, size, tenant,
  // attribution, timestamps, attrs, the project) is read only when asked for: a resource nested in a page of
  // projects or cost lines is mostly asked for its name, and every unread column costs Prisma a mapping per row.
  select: RESOURCE_PAGE_COLUMNS,
  fields: (t) => ({
    id: t.id({ resolve: (resource) => resource.id }),
    kind: t.string({ resolve: (resource) => resource.kind }),
    providerId: t.exposeString('providerId', {
      description: 'The id DigitalOcean gives the resource (a number, uuid, IP, domain or bucket name).',
    }),
    name: t.string({ nullable: true, resolve: (resource) => resource.name }),
    region: t.string({ nullable: true, resolve: (resource) => resource.region }),
    status: t.string({ nullable: true, resolve: (resource) => resource.status }),
    size: t.exposeString('size', { nullable: true }),
    tags: t.stringList({ resolve: (resource) => resource.tags }),
    tenantId: t.exposeString('tenantId', { nullable: true }),
    attributionSource: t.exposeString('attributionSource', {
      nullable: true,
      description: 'How project and tenant were decided: project (DigitalOcean membership), fallback, or manual.',
    }),
    providerCreatedAt: t.expose('providerCreatedAt', { type: 'DateTime', nullable: true }),
    firstSeenAt: t.expose('firstSeenAt', { type: 'DateTime' }),
    lastSeenAt: t.expose('lastSeenAt', { type: 'DateTime' }),
    staleAt: t.expose('staleAt', { type: 'DateTime', nullable: true }),
    missCount: t.exposeInt('missCount', { description: 'Consecutive complete listings without this resource.' }),
    stale: t.boolean({
      description: 'Missing from three consecutive complete listings (the row is kept for invoices).',
      select: { staleAt: true },
      resolve: (resource) => resource.staleAt !== null,
    }),
    attrs: t.expose('attrs', {
      type: 'JSON',
      nullable: true,
      authScopes: { admin: true },
      description: 'The kind’s own details as DigitalOcean gives them (platform admin only).',
    }),
  }),
});

export const ResourceConnection = countedConnection(
  ResourceRef,
  'Resource',
  'Resources matching the filter, across all pages.',
);

const ResourceState = builder.enumType('ResourceState', {
  values: {
    LIVE: { description: 'Seen in the latest listings.' },
    STALE: { description: 'Gone from DigitalOcean (kept for invoices).' },
    ALL: {},
  } as const,
});

export const ResourceFilter = builder.inputType('ResourceFilter', {
  fields: (t) => ({
    kind: t.stringList({ description: 'Any of these kinds (droplet, volume, load_balancer, ...).' }),
    status: t.stringList({ description: 'Any of these statuses.' }),
    state: t.field({ type: ResourceState, defaultValue: 'ALL' }),
    projectId: t.id({ description: 'Resources of this project.' }),
    unattributed: t.boolean({ description: 'true: resources with neither a project nor a tenant.' }),
    tenantId: t.string({ description: 'Resources of this tenant (a non-admin may only name their own).' }),
    region: t.stringList({ description: 'Any of these region slugs.' }),
    tag: t.string({ description: 'Resources carrying this tag.' }),
    search: t.string({ description: 'Case-insensitive part of the name, or the exact provider id.' }),
  }),
});

const OrderDirection = builder.enumType('OrderDirection', { values: ['ASC', 'DESC'] as const });

const ResourceOrderField = builder.enumType('ResourceOrderField', {
  values: {
    ID: { value: 'id' },
    KIND: { value: 'kind' },
    NAME: { value: 'name' },
    REGION: { value: 'region' },
    STATUS: { value: 'status' },
    PROVIDER_CREATED_AT: { value: 'providerCreatedAt' },
    FIRST_SEEN_AT: { value: 'firstSeenAt' },
    LAST_SEEN_AT: { value: 'lastSeenAt' },
  } as const,
});

const ResourceOrder = builder.inputType('ResourceOrder', {
  fields: (t) => ({
    field: t.field({ type: ResourceOrderField, required: true }),
    direction: t.field({ type: OrderDirection, defaultValue: 'ASC' }),
  }),
});

builder.queryFields((t) => ({
  resources: t.prismaConnection(
    {
      type: ResourceRef,
      cursor: 'id',
      authScopes: { member: true },
      description: 'Resources the viewer may see (an admin: all), filtered, ordered, paged by cursor.',
      args: {
        filter: t.arg({ type: ResourceFilter }),
        orderBy: t.arg({ type: ResourceOrder }),
      },
      resolve: (query, _root, args, ctx) =>
        ctx.prisma.cloudResource.findMany({
          ...query,
          where: resourceWhere(args.filter, ctx.viewer),
          orderBy: resourceOrder(args.orderBy),
        }),
      totalCount: (_connection, args, ctx) =>
        ctx.prisma.cloudResource.count({ where: resourceWhere(args.filter, ctx.viewer) }),
    },
    ResourceConnection,
  ),
  resource: t.prismaField({
    type: ResourceRef,
    nullable: true,
    authScopes: { member: true },
    description: 'One resource by id; null when it does not exist or belongs to another tenant.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.cloudResource.findFirst({
        ...query,
        where: { AND: [{ id: parseId(args.id, 'id') }, resourceVisibility(ctx.viewer)] },
      }),
  }),
}));

builder.mutationFields((t) => ({
  classifyResource: t.prismaField({
    type: ResourceRef,
    authScopes: { admin: true },
    description:
      'Attributes a resource that DigitalOcean project membership did not attribute (no project, or the fallback) to a project and/or a tenant. Sets attributionSource to manual. Platform admin only.',
    args: {
      resourceId: t.arg.id({ required: true }),
      projectId: t.arg.id({
        description: 'The project to put the resource in; its tenant applies unless tenantId is given.',
      }),
      tenantId: t.arg.string({ description: 'The tenant the resource belongs to.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      const resourceId = parseId(args.resourceId, 'resourceId');
      const projectId = parseOptionalId(args.projectId, 'projectId');
      const tenantId = args.tenantId == null ? undefined : parseTenantId(args.tenantId, 'tenantId');
      if (projectId === undefined && tenantId === undefined)
        throw badInput('Give projectId, tenantId or both', 'projectId');

      const resource = await ctx.prisma.cloudResource.findUnique({
        where: { id: resourceId },
        select: { attributionSource: true, cloudProjectId: true, tenantId: true },
      });
      if (!resource) throw badInput(`No resource with id ${resourceId}`, 'resourceId');
      if (resource.attributionSource === 'project') {
        throw badInput(
          `Resource ${resourceId} is attributed by its DigitalOcean project; move it between projects in DigitalOcean, or set the project's tenant with setProjectTenant`,
          'resourceId',
        );
      }
      let project: { id: number; tenantId: string | null } | null = null;
      if (projectId !== undefined) {
        project = await ctx.prisma.cloudProject.findUnique({
          where: { id: projectId },
          select: { id: true, tenantId: true },
        });
        if (!project) throw badInput(`No project with id ${projectId}`, 'projectId');
        if (tenantId !== undefined && project.tenantId !== null && project.tenantId !== tenantId) {
          throw badInput(`Project ${projectId} belongs to tenant "${project.tenantId}", not "${tenantId}"`, 'tenantId');
        }
      }
      // Conditional on the attribution read above, so a sync attributing it meanwhile is not overwritten.
      try {
        return await ctx.prisma.cloudResource.update({
          ...query,
          where: { id: resourceId, OR: [{ attributionSource: null }, { attributionSource: { not: 'project' } }] },
          data: {
            cloudProjectId: project?.id ?? resource.cloudProjectId,
            tenantId: tenantId ?? project?.tenantId ?? resource.tenantId,
            attributionSource: 'manual',
          },
        });
      } catch (error) {
        if (isRecordNotFound(error))
          throw badInput(`Resource ${resourceId} was attributed by its DigitalOcean project meanwhile`, 'resourceId');
        throw error;
      }
    },
  }),
}));
