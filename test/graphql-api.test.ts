// The GraphQL read and write paths against a real database: filters, ordering, cursors, counts, the
// mutations' validation, the SQL statements a nested page costs, and the REST inventory kept for old clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, token, type Api } from './helpers/api.js';
import { gql, type GraphQLResponse } from './helpers/graphql.js';
import { seedInventory, type InventoryFixture } from './helpers/inventory-fixture.js';
import { stringContaining, stringMatching } from './helpers/matchers.js';

interface Edge<T> {
  node: T;
}
interface Page<T> {
  totalCount: number;
  edges: Array<Edge<T>>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

describe('GraphQL API', () => {
  let api: Api;
  let fx: InventoryFixture;
  let admin: string;
  let acme: string;

  beforeAll(async () => {
    api = await startApi();
    fx = await seedInventory(api.pool);
    admin = await token({ admin: true, sub: 'ops' });
    acme = await token({ tenant: 'acme' });
  });

  afterAll(async () => {
    await api?.close();
  });

  describe('resources', () => {
    it('pages through everything by cursor, in a total order, with totalCount', async () => {
      for (const orderBy of [
        { field: 'ID' },
        { field: 'NAME', direction: 'DESC' },
        { field: 'KIND' },
        { field: 'PROVIDER_CREATED_AT' },
      ]) {
        const seen: string[] = [];
        let after: string | null = null;
        for (let pages = 0; pages < 50; pages += 1) {
          const response: GraphQLResponse<{ resources: Page<{ id: string }> }> = await gql<{
            resources: Page<{ id: string }>;
          }>(
            api.url,
            `query($after: String, $orderBy: ResourceOrder) { resources(first: 37, after: $after, orderBy: $orderBy) {
              totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
            { token: admin, variables: { after, orderBy } },
          );
          expect(response.body.errors).toBeUndefined();
          const page: Page<{ id: string }> = response.body.data!.resources;
          expect(page.totalCount).toBe(fx.total);
          seen.push(...page.edges.map((e) => e.node.id));
          if (!page.pageInfo.hasNextPage) break;
          after = page.pageInfo.endCursor;
        }
        expect(seen).toHaveLength(fx.total);
        expect(new Set(seen).size).toBe(fx.total);
      }
    });

    it('orders by name with nulls last in both directions', async () => {
      for (const direction of ['ASC', 'DESC']) {
        const { body } = await gql<{ resources: Page<{ name: string | null }> }>(
          api.url,
          `query($d: OrderDirection) { resources(first: 100, filter: { tenantId: "acme" }, orderBy: { field: NAME, direction: $d }) { edges { node { name } } } }`,
          { token: admin, variables: { d: direction } },
        );
        const names = body.data!.resources.edges.map((e) => e.node.name);
        const firstNull = names.indexOf(null);
        expect(names.slice(0, firstNull === -1 ? undefined : firstNull).every((n) => n !== null)).toBe(true);
        const nonNull = names.filter((n): n is string => n !== null);
        const sorted = [...nonNull].sort();
        expect(nonNull).toEqual(direction === 'ASC' ? sorted : sorted.reverse());
      }
    });

    it('filters by kind, status, state, project, tenant, region, tag, name search and unattributed', async () => {
      const count = async (filter: Record<string, unknown>): Promise<number> => {
        const { body } = await gql<{ resources: { totalCount: number; edges: Array<Edge<Record<string, unknown>>> } }>(
          api.url,
          `query($f: ResourceFilter) { resources(first: 100, filter: $f) { totalCount edges { node { kind status stale region tags name tenantId project { id } } } } }`,
          { token: admin, variables: { f: filter } },
        );
        expect(body.errors).toBeUndefined();
        return body.data!.resources.totalCount;
      };
      const sql = async (where: string): Promise<number> =>
        Number(
          (await api.pool.query<{ count: string }>(`SELECT count(*) FROM cloud_resources WHERE ${where}`)).rows[0]!
            .count,
        );

      expect(await count({ kind: ['droplet'] })).toBe(await sql(`kind = 'droplet'`));
      expect(await count({ kind: ['droplet', 'volume'], status: ['off'] })).toBe(
        await sql(`kind IN ('droplet','volume') AND status = 'off'`),
      );
      expect(await count({ state: 'STALE' })).toBe(await sql('stale_at IS NOT NULL'));
      expect(await count({ state: 'LIVE' })).toBe(await sql('stale_at IS NULL'));
      expect(await count({ projectId: String(fx.projects.globex) })).toBe(fx.globexResources.length + 1);
      expect(await count({ tenantId: 'globex' })).toBe(fx.globexResources.length);
      expect(await count({ region: ['ams3'] })).toBe(await sql(`region = 'ams3'`));
      expect(await count({ tag: 'env:prod' })).toBe(await sql(`'env:prod' = ANY(tags)`));
      expect(await count({ search: 'ACME-NAME-1' })).toBe(await sql(`name ILIKE '%acme-name-1%'`));
      expect(await count({ search: 'globex-7' })).toBe(1); // the exact provider id
      expect(await count({ search: '%' })).toBe(0); // a LIKE wildcard is a literal here
      expect(await count({ unattributed: true })).toBe(fx.unattributed.length);
    });

    it('answers resource(id) for a visible row, null otherwise', async () => {
      const query = `query($id: ID!) { resource(id: $id) { id kind tenantId } }`;
      const own = await gql<{ resource: { id: string } | null }>(api.url, query, {
        token: acme,
        variables: { id: String(fx.acmeResources[0]) },
      });
      expect(own.body.data?.resource?.id).toBe(String(fx.acmeResources[0]));
      const other = await gql<{ resource: unknown }>(api.url, query, {
        token: acme,
        variables: { id: String(fx.globexResources[0]) },
      });
      expect(other.body).toEqual({ data: { resource: null } });
      const bad = await gql(api.url, query, { token: acme, variables: { id: 'abc' } });
      expect(bad.body.errors?.[0]).toMatchObject({
        message: stringContaining('id must be a positive integer'),
        extensions: { code: 'BAD_USER_INPUT' },
      });
    });

    it('loads a page of 100 with nested projects in at most 2 SQL statements', async () => {
      api.resetStatements();
      const { body } = await gql<{ resources: Page<{ project: { name: string } | null }> }>(
        api.url,
        `{ resources(first: 100) { totalCount edges { cursor node { id kind name region tags stale
            project { id name tenantId environment } } } pageInfo { hasNextPage endCursor } } }`,
        { token: admin },
      );
      const statements = api.statements.length;
      expect(body.errors).toBeUndefined();
      expect(body.data!.resources.edges).toHaveLength(100);
      expect(body.data!.resources.edges.filter((e) => e.node.project !== null).length).toBeGreaterThan(50);
      expect(statements).toBeLessThanOrEqual(2);

      // The same without totalCount: one statement.
      api.resetStatements();
      await gql(api.url, `{ resources(first: 100) { edges { node { id project { name } } } } }`, { token: admin });
      expect(api.statements.length).toBe(1);
    });

    it('loads projects with per-kind counts and nested resource pages in a bounded number of statements', async () => {
      api.resetStatements();
      const { body } = await gql<{
        projects: Page<{
          name: string;
          resourceCounts: Array<{ kind: string; total: number; live: number; stale: number }>;
          resources: { totalCount: number; edges: unknown[] };
        }>;
      }>(
        api.url,
        `{ projects(first: 50) { totalCount edges { node { id name tenantId
            resourceCounts { kind total live stale }
            resources(first: 5) { totalCount edges { node { id project { name } } } } } } } }`,
        { token: admin },
      );
      const statements = api.statements.length;
      expect(body.errors).toBeUndefined();
      const projects = body.data!.projects;
      expect(projects.totalCount).toBe(3);
      const acmeProject = projects.edges.find((e) => e.node.name === 'Acme web')!.node;
      expect(acmeProject.resources.totalCount).toBe(fx.acmeResources.length - 1);
      expect(acmeProject.resources.edges).toHaveLength(5);
      const byKind = Object.fromEntries(acmeProject.resourceCounts.map((c) => [c.kind, c]));
      const droplets = (
        await api.pool.query<{ total: number; live: number }>(
          `SELECT count(*)::int AS total, count(*) FILTER (WHERE stale_at IS NULL)::int AS live FROM cloud_resources WHERE cloud_project_id = $1 AND kind = 'droplet'`,
          [fx.projects.acme],
        )
      ).rows[0]!;
      expect(byKind.droplet).toEqual({
        kind: 'droplet',
        total: droplets.total,
        live: droplets.live,
        stale: droplets.total - droplets.live,
      });
      // projects page + totalCount + one grouped count for every project: 3, whatever the number of projects.
      expect(statements).toBeLessThanOrEqual(3);
    });

    it('rejects bad filter values with BAD_USER_INPUT naming the argument', async () => {
      const { body } = await gql(api.url, `{ resources(filter: { search: "   " }) { totalCount } }`, { token: admin });
      expect(body.errors?.[0]).toMatchObject({
        message: 'filter.search must not be empty',
        extensions: { code: 'BAD_USER_INPUT', argument: 'filter.search' },
      });
      const many = await gql(api.url, `query($k: [String!]) { resources(filter: { kind: $k }) { totalCount } }`, {
        token: admin,
        variables: { k: Array.from({ length: 51 }, (_, i) => `k${i}`) },
      });
      expect(many.body.errors?.[0]?.message).toBe('filter.kind may list at most 50 values');
    });
  });

  describe('projects', () => {
    it('filters by tenant, unassigned and name search; project(id) hides other tenants', async () => {
      const names = async (filter: Record<string, unknown>, as = admin): Promise<string[]> => {
        const { body } = await gql<{ projects: Page<{ name: string }> }>(
          api.url,
          `query($f: ProjectFilter) { projects(filter: $f) { edges { node { name } } } }`,
          {
            token: as,
            variables: { f: filter },
          },
        );
        expect(body.errors).toBeUndefined();
        return body.data!.projects.edges.map((e) => e.node.name);
      };
      expect(await names({})).toEqual(['Acme web', 'Globex data', 'Sandbox']);
      expect(await names({ tenantId: 'globex' })).toEqual(['Globex data']);
      expect(await names({ unassigned: true })).toEqual(['Sandbox']);
      expect(await names({ search: 'web' })).toEqual(['Acme web']);
      expect(await names({}, acme)).toEqual(['Acme web']);
      const other = await gql(api.url, `query($id: ID!) { project(id: $id) { name } }`, {
        token: acme,
        variables: { id: String(fx.projects.globex) },
      });
      expect(other.body).toEqual({ data: { project: null } });
    });
  });

  describe('mutations', () => {
    it('classifyResource attributes an unattributed resource manually, with clear errors otherwise', async () => {
      const mutation = `mutation($r: ID!, $p: ID, $t: String) { classifyResource(resourceId: $r, projectId: $p, tenantId: $t) {
        id tenantId attributionSource project { id tenantId } } }`;
      const loose = fx.unattributed[0]!;
      const ok = await gql<{ classifyResource: Record<string, unknown> }>(api.url, mutation, {
        token: admin,
        variables: { r: String(loose), p: String(fx.projects.acme) },
      });
      expect(ok.body.errors).toBeUndefined();
      expect(ok.body.data!.classifyResource).toEqual({
        id: String(loose),
        tenantId: 'acme',
        attributionSource: 'manual',
        project: { id: String(fx.projects.acme), tenantId: 'acme' },
      });

      const tenantOnly = await gql<{ classifyResource: Record<string, unknown> }>(api.url, mutation, {
        token: admin,
        variables: { r: String(fx.unattributed[1]), t: 'initech' },
      });
      expect(tenantOnly.body.data!.classifyResource).toMatchObject({
        tenantId: 'initech',
        attributionSource: 'manual',
        project: null,
      });

      const errors: Array<[Record<string, unknown>, string, string]> = [
        [{ r: String(fx.unattributed[2]) }, 'Give projectId, tenantId or both', 'projectId'],
        [{ r: '999999', t: 'acme' }, 'No resource with id 999999', 'resourceId'],
        [{ r: String(fx.unattributed[2]), p: '999999' }, 'No project with id 999999', 'projectId'],
        [
          { r: String(fx.unattributed[2]), p: String(fx.projects.acme), t: 'globex' },
          `Project ${fx.projects.acme} belongs to tenant "acme", not "globex"`,
          'tenantId',
        ],
        [{ r: String(fx.unattributed[2]), t: 'bad tenant!' }, 'tenantId must be 1-128 characters', 'tenantId'],
        [{ r: String(fx.globexResources[0]), t: 'acme' }, 'is attributed by its DigitalOcean project', 'resourceId'],
      ];
      for (const [variables, message, argument] of errors) {
        const { body } = await gql(api.url, mutation, { token: admin, variables });
        expect(body.errors?.[0]?.message).toContain(message);
        expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument });
      }
    });

    it('setProjectTenant sets the project and its project-attributed resources in one transaction', async () => {
      const mutation = `mutation($p: ID!, $t: String) { setProjectTenant(projectId: $p, tenantId: $t) { resourcesUpdated project { id name tenantId } } }`;
      const { body } = await gql<{ setProjectTenant: { resourcesUpdated: number; project: { tenantId: string } } }>(
        api.url,
        mutation,
        {
          token: admin,
          variables: { p: String(fx.projects.globex), t: 'globex-2' },
        },
      );
      expect(body.errors).toBeUndefined();
      expect(body.data!.setProjectTenant).toEqual({
        resourcesUpdated: fx.globexResources.length,
        project: { id: String(fx.projects.globex), name: 'Globex data', tenantId: 'globex-2' },
      });
      const tenants = await api.pool.query(
        `SELECT attribution_source, tenant_id, count(*)::int FROM cloud_resources WHERE cloud_project_id = $1 GROUP BY 1, 2 ORDER BY 1`,
        [fx.projects.globex],
      );
      // The fallback-attributed acme resource in that project keeps its tenant.
      expect(tenants.rows).toEqual([
        { attribution_source: 'fallback', tenant_id: 'acme', count: 1 },
        { attribution_source: 'project', tenant_id: 'globex-2', count: fx.globexResources.length },
      ]);
      const back = await gql(api.url, mutation, {
        token: admin,
        variables: { p: String(fx.projects.globex), t: 'globex' },
      });
      expect(back.body.errors).toBeUndefined();
      const missing = await gql(api.url, mutation, { token: admin, variables: { p: '999999', t: 'x' } });
      expect(missing.body.errors?.[0]).toMatchObject({
        message: 'No project with id 999999',
        extensions: { code: 'BAD_USER_INPUT' },
      });
    });

    it('triggerSync validates the task name', async () => {
      const { body } = await gql(api.url, `mutation { triggerSync(task: "droplets") { jobIds } }`, { token: admin });
      expect(body.errors?.[0]).toMatchObject({
        message: stringMatching(/^Unknown sync task "droplets": expected "all" or one of droplet, /),
        extensions: { code: 'BAD_USER_INPUT' },
      });
    });

    it('triggerSync’s unknown-task error lists every name it accepts, billing and the invoice form included', async () => {
      const { body } = await gql(api.url, `mutation { triggerSync(task: "balances") { jobIds } }`, { token: admin });
      expect(body.errors?.[0]).toMatchObject({
        message:
          'Unknown sync task "balances": expected "all" or one of droplet, volume, snapshot, floating_ip, reserved_ipv6, firewall, ' +
          'load_balancer, dns_zone, managed_db, kubernetes_cluster, app, projects, balance, billing_history, billing_insights, ' +
          'invoice:<uuid>',
        extensions: { code: 'BAD_USER_INPUT' },
      });
      // Every name the message offers is accepted (the invoice form with an id).
      for (const task of ['projects', 'balance', 'billing_history', 'invoice:0b9a7e4c-1d2f-4a8b-9c3d-5e6f7a8b9c0d']) {
        const ok = await gql<{ triggerSync: { task: string } }>(
          api.url,
          'mutation($task: String!) { triggerSync(task: $task) { task } }',
          {
            token: admin,
            variables: { task },
          },
        );
        expect(ok.body.errors, task).toBeUndefined();
        expect(ok.body.data!.triggerSync.task).toBe(task);
      }
      await api.pool.query(`DELETE FROM graphile_worker._private_jobs`);
      // syncRuns filters by what a run records: a task name, or `invoice`; its error says which.
      const filter = await gql(api.url, `{ syncRuns(task: "invoice:x") { totalCount } }`, { token: admin });
      expect(filter.body.errors?.[0]?.message).toMatch(
        /^Unknown sync task "invoice:x": expected one of droplet, .*projects, balance, billing_history, billing_insights, invoice$/,
      );
    });

    it('triggerSync queues jobs and returns their ids', async () => {
      const { body } = await gql<{ triggerSync: { task: string; jobIds: string[] } }>(
        api.url,
        `mutation { triggerSync(task: "droplet") { task jobIds } }`,
        { token: admin },
      );
      expect(body.errors).toBeUndefined();
      expect(body.data!.triggerSync.jobIds).toHaveLength(1);
      const jobs = await api.pool.query(`SELECT task_identifier FROM graphile_worker.jobs WHERE id = $1`, [
        body.data!.triggerSync.jobIds[0],
      ]);
      expect(jobs.rows).toEqual([{ task_identifier: 'sync:droplet' }]);
    });
  });

  describe('sync status', () => {
    it('syncRuns filters by task and status; syncStatus gives last run, last success and running per task', async () => {
      await api.pool.query(`
        INSERT INTO sync_runs (task, trigger, status, started_at, finished_at, listed) VALUES
          ('droplet', 'cron', 'succeeded', now() - interval '3 hours', now() - interval '3 hours', 10),
          ('droplet', 'cron', 'failed', now() - interval '2 hours', now() - interval '2 hours', 0),
          ('droplet', 'manual', 'running', now() - interval '1 minute', NULL, 0),
          ('volume', 'cron', 'succeeded', now() - interval '1 hour', now() - interval '1 hour', 4)`);
      const runs = await gql<{ syncRuns: Page<{ task: string; status: string; trigger: string }> }>(
        api.url,
        `{ syncRuns(task: "droplet", status: FAILED) { totalCount edges { node { task status trigger } } } }`,
        { token: acme },
      );
      expect(runs.body.data!.syncRuns.totalCount).toBe(1);
      expect(runs.body.data!.syncRuns.edges[0]!.node).toEqual({ task: 'droplet', status: 'FAILED', trigger: 'cron' });

      api.resetStatements();
      const status = await gql<{
        syncStatus: Array<{
          task: string;
          running: boolean;
          nextScheduledRun: string | null;
          lastRun: { status: string } | null;
          lastSuccess: { listed: number } | null;
        }>;
      }>(
        api.url,
        `{ syncStatus { task running nextScheduledRun lastRun { status startedAt } lastSuccess { listed finishedAt } } }`,
        { token: acme },
      );
      expect(status.body.errors).toBeUndefined();
      expect(api.statements.length).toBeLessThanOrEqual(2);
      const byTask = Object.fromEntries(status.body.data!.syncStatus.map((s) => [s.task, s]));
      expect(byTask.droplet).toMatchObject({
        running: true,
        lastRun: { status: 'RUNNING' },
        lastSuccess: { listed: 10 },
        nextScheduledRun: null,
      });
      expect(byTask.volume).toMatchObject({
        running: false,
        lastRun: { status: 'SUCCEEDED' },
        lastSuccess: { listed: 4 },
      });
      expect(byTask.projects).toMatchObject({ running: false, lastRun: null, lastSuccess: null });
    });

    it('syncStatus lists the billing tasks too, with their schedule', async () => {
      // A service with a DigitalOcean token: the schedule is on, so every task has a next scheduled run.
      const scheduled = await startApi({ DIGITALOCEAN_TOKEN: 'dop_v1_status_test' });
      try {
        await scheduled.pool.query(`
          INSERT INTO sync_runs (task, trigger, status, started_at, finished_at, listed) VALUES
            ('balance', 'cron', 'succeeded', now() - interval '2 hours', now() - interval '2 hours', 1),
            ('balance', 'manual', 'failed', now() - interval '1 hour', now() - interval '1 hour', 0),
            ('billing_history', 'startup', 'running', now() - interval '1 minute', NULL, 0),
            ('invoice', 'cron', 'succeeded', now() - interval '1 minute', now(), 100)`);
        const before = Date.now();
        const { body } = await gql<{
          syncStatus: Array<{
            task: string;
            running: boolean;
            nextScheduledRun: string | null;
            lastRun: { status: string } | null;
            lastSuccess: { listed: number } | null;
          }>;
        }>(
          scheduled.url,
          `{ syncStatus { task running nextScheduledRun lastRun { status } lastSuccess { listed } } }`,
          { token: acme },
        );
        expect(body.errors).toBeUndefined();
        const statuses = body.data!.syncStatus;
        expect(statuses.map((s) => s.task)).toEqual([
          'droplet',
          'volume',
          'snapshot',
          'floating_ip',
          'reserved_ipv6',
          'firewall',
          'load_balancer',
          'dns_zone',
          'managed_db',
          'kubernetes_cluster',
          'app',
          'projects',
          'balance',
          'billing_history',
          'billing_insights',
        ]);
        const byTask = Object.fromEntries(statuses.map((s) => [s.task, s]));
        expect(byTask.balance).toMatchObject({
          running: false,
          lastRun: { status: 'FAILED' },
          lastSuccess: { listed: 1 },
        });
        expect(byTask.billing_history).toMatchObject({
          running: true,
          lastRun: { status: 'RUNNING' },
          lastSuccess: null,
        });
        for (const s of statuses) expect(s.nextScheduledRun, s.task).not.toBeNull();
        // balance hourly at :07, billing history daily at 02:23 (UTC), each within its period from now.
        const balanceAt = new Date(byTask.balance!.nextScheduledRun!);
        expect([balanceAt.getUTCMinutes(), balanceAt.getUTCSeconds()]).toEqual([7, 0]);
        expect(balanceAt.getTime() - before).toBeGreaterThan(0);
        expect(balanceAt.getTime() - before).toBeLessThanOrEqual(3_600_000);
        const historyAt = new Date(byTask.billing_history!.nextScheduledRun!);
        expect([historyAt.getUTCHours(), historyAt.getUTCMinutes()]).toEqual([2, 23]);
        expect(historyAt.getTime() - before).toBeLessThanOrEqual(86_400_000);
      } finally {
        await scheduled.close();
      }
    });
  });

  describe('REST inventory (old clients)', () => {
    const inventory = (query: string, bearer?: string) =>
      fetch(`${api.url.replace('/graphql', '')}/api/v1/inventory${query}`, {
        headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
      });

    it('requires a token', async () => {
      const response = await inventory('');
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: 'unauthenticated' });
    });

    it('lists the viewer’s resources (no attrs for a tenant), paged by cursor', async () => {
      const response = await inventory('?limit=50', acme);
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        resources: Array<Record<string, unknown>>;
        count: number;
        nextCursor: string | null;
      };
      expect(body.count).toBe(50);
      expect(body.resources.every((r) => r.tenantId === 'acme' && !('attrs' in r))).toBe(true);
      const all: string[] = body.resources.map((r) => r.id as string);
      let cursor = body.nextCursor;
      while (cursor) {
        const next = (await (await inventory(`?limit=50&after=${cursor}`, acme)).json()) as typeof body;
        all.push(...next.resources.map((r) => r.id as string));
        cursor = next.nextCursor;
      }
      // (earlier tests may have classified more resources to acme)
      const expected = (
        await api.pool.query<{ id: number }>(`SELECT id FROM cloud_resources WHERE tenant_id = 'acme'`)
      ).rows.map((r) => String(r.id));
      expect(all.sort()).toEqual(expected.sort());
      expect(expected.length).toBeGreaterThanOrEqual(fx.acmeResources.length);
      const odd = (await (await inventory(`?search=odd-1`, acme)).json()) as typeof body;
      expect(odd.resources).toEqual([expect.objectContaining({ id: String(fx.acmeInGlobexProject), project: null })]);
    });

    it('gives an admin attrs and filters, and rejects bad parameters', async () => {
      const body = (await (await inventory('?kind=droplet,volume&state=live&limit=5', admin)).json()) as {
        resources: Array<Record<string, unknown>>;
      };
      expect(body.resources).toHaveLength(5);
      expect(
        body.resources.every(
          (r) => ['droplet', 'volume'].includes(r.kind as string) && r.stale === false && typeof r.attrs === 'object',
        ),
      ).toBe(true);
      const bad = await inventory('?limit=0', admin);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({
        error: 'bad_request',
        message: 'limit must be an integer between 1 and 5000',
      });
      const other = await inventory('?tenant_id=globex', acme);
      expect(other.status).toBe(403);
      expect(await other.json()).toEqual({
        error: 'forbidden',
        message: 'Not allowed to read another tenant’s rows: platform admin only',
      });
    });
  });
});
