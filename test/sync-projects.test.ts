// Projects and attribution: the URN table (unknown kinds kept verbatim, spaces/VPCs created from URNs), tenants
// flowing from projects to members, uncertain memberships and failed walks changing nothing, the fallback for
// resources in no project (never for DNS zones), manual classifications, and attribution in bulk.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Kind, SimAccount } from '../tools/simulator/index.js';
import { recordKey, recordUrn } from '../tools/simulator/index.js';
import { INVENTORY_TASKS as SYNC_TASK_NAMES } from '../src/domain/tasks.js';
import { ACCOUNT, startSyncHarness, type SyncHarness } from './helpers/sync.js';

/** Simulator kind → (local kind, provider id) as the sync stores it. */
const LOCAL_KIND: Partial<Record<Kind, string>> = {
  droplet: 'droplet',
  volume: 'volume',
  reserved_ip: 'floating_ip',
  reserved_ipv6: 'reserved_ipv6',
  load_balancer: 'load_balancer',
  domain: 'dns_zone',
  database: 'managed_db',
  kubernetes: 'kubernetes_cluster',
  app: 'app',
  space: 'spaces_bucket',
  vpc: 'vpc',
};

/** Bumps the simulator's version so cached pages are re-rendered after a direct edit of its membership tables. */
function touch(account: SimAccount): void {
  const p = account.defaultProject;
  account.update('project', p.id, { updated_at: p.updated_at });
}

async function resource(h: SyncHarness, kind: string, providerId: string | number) {
  return h.prisma.cloudResource.findUniqueOrThrow({
    where: { accountId_kind_providerId: { accountId: ACCOUNT, kind, providerId: String(providerId) } },
    include: { cloudProject: true },
  });
}

async function localProjectId(h: SyncHarness, providerId: string): Promise<number> {
  return (
    await h.prisma.cloudProject.findUniqueOrThrow({
      where: { accountId_providerId: { accountId: ACCOUNT, providerId } },
    })
  ).id;
}

describe('projects sync: URNs and attribution', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await startSyncHarness({ seed: 31 });
    await h.syncAll();
  });
  beforeEach(() => h.sim.setFaults({}));
  afterAll(async () => {
    await h?.close();
  });

  it('maps every URN kind to its local kind and attributes each member to its project', async () => {
    const sim = h.sim.account;
    let checked = 0;
    for (const [simKind, localKind] of Object.entries(LOCAL_KIND) as Array<[Kind, string]>) {
      for (const rec of sim.list(simKind)) {
        const projectId = (rec as { project_id?: string | null }).project_id;
        if (!projectId) continue;
        const urn = recordUrn(simKind, rec)!;
        const row = await resource(h, localKind, recordKey(simKind, rec));
        if (sim.projectEntryStatus.get(urn)) {
          // Membership reported as uncertain: nothing is decided from it.
          expect(row.attributionSource, urn).toBeNull();
          continue;
        }
        expect(row.cloudProject?.providerId, urn).toBe(projectId);
        expect(row.attributionSource, urn).toBe('project');
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('creates spaces buckets and VPCs from their URNs, and keeps unknown kinds verbatim', async () => {
    const sim = h.sim.account;
    const spaces = sim.list('space').filter((s) => s.project_id);
    expect(spaces.length).toBeGreaterThan(0);
    for (const s of spaces) {
      const row = await resource(h, 'spaces_bucket', s.name);
      expect(row).toMatchObject({ name: s.name, attributionSource: 'project', missCount: 0 });
      expect(row.attrs).toEqual({ urn: `do:space:${s.name}` });
    }
    for (const v of sim.list('vpc').filter((x) => x.project_id)) {
      expect((await resource(h, 'vpc', v.id)).cloudProject?.providerId).toBe(v.project_id);
    }
    const task = sim.extraProjectEntries.find((e) => e.urn.startsWith('do:task:'))!;
    const taskRow = await resource(h, 'task', task.urn.slice('do:task:'.length));
    expect(taskRow.attrs).toEqual({ urn: task.urn });

    // A new unknown type, spelled with capitals: the row's kind is the type exactly as given.
    const project = sim.list('project')[2]!;
    sim.extraProjectEntries.push({
      project_id: project.id,
      urn: 'do:Widget:w-1:part',
      status: 'ok',
      assigned_at: '2026-01-01T00:00:00Z',
    });
    touch(sim);
    const r = await h.engine.run('projects', { trigger: 'manual' });
    expect(r.status).toBe('succeeded');
    expect((r.details.members as { unknownKinds: string[] }).unknownKinds).toEqual(
      expect.arrayContaining(['task', 'Widget']),
    );
    const widget = await resource(h, 'Widget', 'w-1:part');
    expect(widget.cloudProject?.providerId).toBe(project.id);
    expect(r.created).toBe(1); // the Widget row; everything else was there
  });

  it("gives every member its project's tenant, in the same pass", async () => {
    const sim = h.sim.account;
    const project = sim.list('project')[1]!;
    await h.pool.query(`UPDATE cloud_projects SET tenant_id = 'tenant-a' WHERE provider_id = $1`, [project.id]);
    const r = await h.engine.run('projects', { trigger: 'manual' });
    const members = await h.prisma.cloudResource.findMany({ where: { cloudProject: { providerId: project.id } } });
    expect(members.length).toBeGreaterThan(0);
    for (const m of members) expect(m.tenantId).toBe('tenant-a');
    expect((r.details.members as { attributed: number }).attributed).toBe(members.length);
    // And nothing changes on the next run.
    const again = await h.engine.run('projects', { trigger: 'manual' });
    expect((again.details.members as { attributed: number }).attributed).toBe(0);
  });

  it('a membership entry whose status is not ok changes nothing for that resource', async () => {
    const sim = h.sim.account;
    const app = sim.list('app')[0]!;
    const urn = recordUrn('app', app)!;
    sim.projectEntryStatus.delete(urn);
    touch(sim);
    await h.engine.run('projects', { trigger: 'manual' });
    const placed = await resource(h, 'app', app.id);
    expect(placed.cloudProject?.providerId).toBe(app.project_id);

    // Now DO reports it, uncertainly, in another project: it stays where it was, and is not "in no project".
    const other = sim.list('project').find((p) => p.id !== app.project_id && !p.is_default)!;
    sim.assign('app', app.id, other.id);
    sim.projectEntryStatus.set(urn, 'service_down');
    touch(sim);
    const fallbackEngine = h.makeEngine({ fallback: { tenantId: 'tenant-fallback' } });
    const r = await fallbackEngine.run('projects', { trigger: 'manual' });
    expect(r.status).toBe('succeeded');
    const after = await resource(h, 'app', app.id);
    expect(after.cloudProjectId).toBe(placed.cloudProjectId);
    expect(after.attributionSource).toBe('project');
    sim.projectEntryStatus.delete(urn);
    touch(sim);
  });

  it('a project whose walk failed un-attributes nothing (and the run says incomplete)', async () => {
    const sim = h.sim.account;
    const droplet = sim.list('droplet').find((d) => d.project_id && !sim.get('project', d.project_id)?.is_default)!;
    const before = await resource(h, 'droplet', droplet.id);
    expect(before.attributionSource).toBe('project');
    sim.assign('droplet', droplet.id, null); // out of every project
    const broken = sim.list('project').find((p) => p.id !== droplet.project_id && !p.is_default)!;
    h.sim.setFaults({ serverError: { path: `/v2/projects/${broken.id}/resources`, count: 100 } });
    const r = await h.engine.run('projects', { trigger: 'manual' });
    expect(r.status).toBe('incomplete');
    expect(r.error).toContain(`/v2/projects/${broken.id}/resources`);
    expect(r.details.unplaced).toMatch(/skipped/);
    expect((await resource(h, 'droplet', droplet.id)).cloudProjectId).toBe(before.cloudProjectId);

    // With every walk complete, it is in no project: no fallback configured → unattributed.
    h.sim.setFaults({});
    const ok = await h.engine.run('projects', { trigger: 'manual' });
    expect(ok.status).toBe('succeeded');
    const after = await resource(h, 'droplet', droplet.id);
    expect(after).toMatchObject({ cloudProjectId: null, tenantId: null, attributionSource: null });
  });

  it('resources in no project go to the fallback project and tenant; DNS zones stay unattributed', async () => {
    const sim = h.sim.account;
    const fallbackProject = sim.list('project').find((p) => !p.is_default)!;
    const engine = h.makeEngine({ fallback: { projectId: fallbackProject.id, tenantId: 'tenant-fallback' } });
    const zone = sim.list('domain')[0]!;
    sim.assign('domain', zone.name, null);
    const r = await engine.run('projects', { trigger: 'manual' });
    expect(r.status).toBe('succeeded');
    const fallbackLocal = await localProjectId(h, fallbackProject.id);

    // Kubernetes worker droplets are in no project (DOKS does not put them in one).
    const node = sim.list('droplet').find((d) => d.tags.includes('k8s:worker'))!;
    expect(await resource(h, 'droplet', node.id)).toMatchObject({
      cloudProjectId: fallbackLocal,
      tenantId: 'tenant-fallback',
      attributionSource: 'fallback',
    });
    // Snapshots and firewalls are never project members.
    const snap = sim.list('snapshot')[0]!;
    expect(await resource(h, 'snapshot', snap.id)).toMatchObject({
      attributionSource: 'fallback',
      tenantId: 'tenant-fallback',
    });
    expect(await resource(h, 'dns_zone', zone.name)).toMatchObject({
      cloudProjectId: null,
      tenantId: null,
      attributionSource: null,
    });

    const unplaced = r.details.unplaced as { resources: number; movedToFallback: number; unattributed: number };
    const inNoProject = await h.prisma.cloudResource.count({ where: { attributionSource: 'fallback' } });
    expect(unplaced.movedToFallback).toBe(inNoProject);
    expect(unplaced.unattributed).toBe(1); // the zone
    expect(await h.prisma.cloudResource.count({ where: { kind: 'dns_zone', attributionSource: 'fallback' } })).toBe(0);

    // A resource DO places in a project again leaves the fallback.
    sim.assign(
      'droplet',
      node.id,
      fallbackProject.id === sim.defaultProject.id ? sim.list('project')[2]!.id : sim.defaultProject.id,
    );
    await engine.run('projects', { trigger: 'manual' });
    expect((await resource(h, 'droplet', node.id)).attributionSource).toBe('project');

    // With only a tenant configured: the tenant, no project.
    const tenantOnly = h.makeEngine({ fallback: { tenantId: 'tenant-only' } });
    await tenantOnly.run('projects', { trigger: 'manual' });
    expect(await resource(h, 'snapshot', snap.id)).toMatchObject({
      cloudProjectId: null,
      tenantId: 'tenant-only',
      attributionSource: 'fallback',
    });
  });

  it("never overwrites an operator's manual classification, unless DigitalOcean now places the resource in a project", async () => {
    const sim = h.sim.account;
    const engine = h.makeEngine({ fallback: { tenantId: 'tenant-fallback' } });
    const snap = sim.list('snapshot')[1]!; // in no project, ever
    const zone = sim.list('domain')[1]!;
    sim.assign('domain', zone.name, null);
    const placed = sim.list('volume').find((v) => v.project_id)!;
    await h.pool.query(
      `UPDATE cloud_resources SET attribution_source = 'manual', tenant_id = 'ops-choice', cloud_project_id = NULL
       WHERE (kind, provider_id) IN (('snapshot', $1), ('dns_zone', $2), ('volume', $3))`,
      [snap.id, zone.name, placed.id],
    );
    const r = await engine.run('projects', { trigger: 'manual' });
    expect(r.status).toBe('succeeded');
    expect(await resource(h, 'snapshot', snap.id)).toMatchObject({
      attributionSource: 'manual',
      tenantId: 'ops-choice',
    });
    expect(await resource(h, 'dns_zone', zone.name)).toMatchObject({
      attributionSource: 'manual',
      tenantId: 'ops-choice',
    });
    const volume = await resource(h, 'volume', placed.id);
    expect(volume.attributionSource).toBe('project');
    expect(volume.cloudProject?.providerId).toBe(placed.project_id);
  });

  it('a kind sync never touches attribution', async () => {
    const before = await h.pool.query(
      `SELECT kind, provider_id, cloud_project_id, tenant_id, attribution_source FROM cloud_resources ORDER BY id`,
    );
    for (const task of SYNC_TASK_NAMES.filter((t) => t !== 'projects')) await h.engine.run(task, { trigger: 'manual' });
    const after = await h.pool.query(
      `SELECT kind, provider_id, cloud_project_id, tenant_id, attribution_source FROM cloud_resources ORDER BY id`,
    );
    expect(after.rows).toEqual(before.rows);
  });

  it('projects and URN-made rows go stale after three complete walks without them; an incomplete one does not count', async () => {
    const sim = h.sim.account;
    const gone = sim.create('project', { name: 'Short-lived', is_default: false });
    const bucket = sim.list('space').find((s) => s.project_id)!;
    await h.engine.run('projects', { trigger: 'manual' });
    sim.delete('project', gone.id);
    sim.delete('space', bucket.name);
    const staleOf = async () => ({
      project: await h.prisma.cloudProject.findUniqueOrThrow({
        where: { accountId_providerId: { accountId: ACCOUNT, providerId: gone.id } },
      }),
      bucket: await resource(h, 'spaces_bucket', bucket.name),
    });
    await h.engine.run('projects', { trigger: 'manual' });
    await h.engine.run('projects', { trigger: 'manual' });
    h.sim.setFaults({ truncateListing: { path: '/v2/projects', keepItems: 1 } });
    expect((await h.engine.run('projects', { trigger: 'manual' })).status).toBe('incomplete');
    h.sim.setFaults({});
    let s = await staleOf();
    expect(s.project).toMatchObject({ missCount: 2, staleAt: null });
    expect(s.bucket).toMatchObject({ missCount: 2, staleAt: null });
    const third = await h.engine.run('projects', { trigger: 'manual' });
    expect(third.markedStale).toBe(2);
    s = await staleOf();
    expect(s.project.staleAt).toBeInstanceOf(Date);
    expect(s.bucket.staleAt).toBeInstanceOf(Date);
    // A stale row keeps its last attribution (its invoices still name it).
    expect(s.bucket.attributionSource).toBe('project');
  });
});

describe('projects sync: attribution in bulk', () => {
  let h: SyncHarness;
  beforeAll(async () => {
    h = await startSyncHarness({ seed: 32, scale: { droplets: 1500, volumes: 300 } });
    await h.syncAll();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('one statement per page of members, never one per resource', async () => {
    h.sql.reset();
    h.sim.requests.clear();
    const r = await h.engine.run('projects', { trigger: 'manual' });
    expect(r.status).toBe('succeeded');
    const memberPages = h.sim.requests.count({ path: '/v2/projects/*/resources' });
    const projects = h.sim.account.count('project');
    expect(memberPages).toBeGreaterThan(projects); // some projects span several pages
    const attribute = h.sql.count(/from_urn AS \(/);
    expect(attribute).toBe(memberPages);
    // Everything else that writes cloud_resources: the URN-row staleness and the "in no project" pass, once each.
    const others = h.sql.statements.filter(
      (s) => /UPDATE cloud_resources|INSERT INTO cloud_resources/.test(s) && !/from_urn AS \(/.test(s),
    );
    expect(others).toHaveLength(2);
    expect(r.pages).toBe(1 + memberPages);
    expect(r.apiCalls).toBe(1 + memberPages);
    const members = r.details.members as { entries: number; matched: number; unmatched: number };
    expect(members.unmatched).toBe(0);
    expect(members.entries).toBeGreaterThan(1000);
  });

  it('a listing and the projects walk writing the same rows at once both complete', async () => {
    const sim = h.sim.account;
    for (let round = 0; round < 3; round++) {
      // Something to write on both sides: droplets change, and some move between projects.
      for (const d of sim.list('droplet').slice(round * 50, round * 50 + 50)) {
        sim.updateDroplet(d.id, { name: `${d.name}-r${round}`, project_id: sim.defaultProject.id });
      }
      const [droplets, projects, volumes] = await Promise.all([
        h.engine.run('droplet', { trigger: 'cron' }),
        h.engine.run('projects', { trigger: 'cron' }),
        h.engine.run('volume', { trigger: 'cron' }),
      ]);
      expect([droplets.status, projects.status, volumes.status], `${droplets.error} ${projects.error}`).toEqual([
        'succeeded',
        'succeeded',
        'succeeded',
      ]);
      expect(droplets.updated).toBe(50);
    }
  });
});
