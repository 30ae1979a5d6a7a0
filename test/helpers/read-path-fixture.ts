// A database large enough that the planner's choices matter (40k resources, 192k cost lines over 24 months,
// 30k sync runs, 20k balance snapshots), seeded with generate_series in a few seconds.
import type pg from 'pg';

/** A realistic shape at a size where index choice matters: ids grow with time, as they do in production. */
export async function seedReadPath(pool: pg.Pool): Promise<void> {
  const sql = (text: string) => pool.query(text);
  await sql(`INSERT INTO cloud_accounts (id, updated_at) VALUES ('default', now())`);
  await sql(`
    INSERT INTO cloud_projects (account_id, provider_id, name, tenant_id, stale_at, updated_at)
    SELECT 'default', 'p-' || i, 'proj-' || substr(md5('p' || i), 1, 10), CASE WHEN i % 10 = 0 THEN NULL ELSE 'tenant-' || (i % 200) END,
      CASE WHEN i % 20 = 0 THEN now() END, now()
    FROM generate_series(1, 3000) i`);
  await sql(`
    INSERT INTO cloud_resources (account_id, kind, provider_id, name, region, status, tags, cloud_project_id, tenant_id,
      attribution_source, provider_created_at, first_seen_at, last_seen_at, stale_at, updated_at)
    SELECT 'default', CASE WHEN i % 97 = 3 THEN 'volume' ELSE k.kind END, 'pid-' || i, k.kind || '-' || substr(md5(i::text), 1, 10),
      CASE WHEN i % 101 = 5 THEN 'sgp1' ELSE (ARRAY['nyc1','nyc3','ams3','fra1','lon1','tor1','blr1','sfo3'])[1 + (i * 7) % 8] END,
      CASE WHEN i % 150 = 0 THEN 'off' WHEN i % 3 = 0 THEN NULL ELSE 'active' END,
      ARRAY['team:' || (i % 400), 'env:' || (i % 3)],
      CASE WHEN i % 25 = 0 THEN NULL ELSE 1 + (i * 13) % 3000 END,
      CASE WHEN i % 25 = 0 THEN NULL ELSE 'tenant-' || ((1 + (i * 13) % 3000) % 200) END,
      CASE WHEN i % 25 = 0 THEN NULL ELSE 'project' END,
      now() - (i % 900 || ' days')::interval, now() - ((40000 - i) || ' minutes')::interval, now(),
      CASE WHEN i % 120 = 0 THEN now() END, now()
    FROM generate_series(1, 40000) i
    CROSS JOIN LATERAL (SELECT (ARRAY['droplet','droplet','droplet','droplet','snapshot','floating_ip','load_balancer',
      'dns_zone','managed_db','kubernetes_cluster','app','spaces_bucket','vpc','firewall'])[1 + (i * 11) % 14] AS kind) k`);
  // 24 months of invoices, 8,000 lines each; the newest lines have the highest ids.
  await sql(`
    INSERT INTO cloud_invoices (account_id, invoice_uuid, period, amount, ingest_status, provisional, updated_at)
    SELECT 'default', 'inv-' || to_char(month, 'YYYY-MM'), to_char(month, 'YYYY-MM'), 1000,
      CASE WHEN month = date '2026-12-01' THEN 'pending' ELSE 'ingested' END, month = date '2026-12-01', now()
    FROM generate_series(date '2025-01-01', date '2026-12-01', interval '1 month') month`);
  await sql(`
    INSERT INTO cloud_cost_lines (invoice_id, line_no, source, period, product, description, kind, resource_id, amount,
      project_name, unmatched_reason)
    SELECT inv.id, n, 'csv', inv.period, 'Droplets', 'line ' || n, CASE WHEN n % 97 = 3 THEN 'volume' ELSE k.kind END,
      CASE WHEN n % 10 < 8 THEN 1 + (n * 5) % 40000 END, 1.5, 'proj-' || substr(md5('p' || (1 + n % 3000)), 1, 10),
      CASE WHEN n % 10 = 8 THEN 'historic' WHEN n % 10 = 9 THEN (CASE WHEN n % 100 = 99 THEN 'kind_not_synced' ELSE 'tax' END) END
    FROM cloud_invoices inv CROSS JOIN generate_series(1, 8000) n
    CROSS JOIN LATERAL (SELECT (ARRAY['droplet','droplet','droplet','snapshot','droplet_backup','load_balancer',
      'managed_db','app'])[1 + (n * 3) % 8] AS kind) k
    ORDER BY inv.period, n`);
  await sql(`
    INSERT INTO sync_runs (account_id, task, trigger, status, started_at, finished_at)
    SELECT 'default', (ARRAY['droplet','volume','snapshot','projects','balance','billing_history','vpc','app'])[1 + i % 8],
      'cron', CASE WHEN i % 97 = 0 THEN 'failed' ELSE 'succeeded' END,
      now() - ((30000 - i) * interval '5 minutes'), now() - ((30000 - i) * interval '5 minutes')
    FROM generate_series(1, 30000) i`);
  await sql(`
    INSERT INTO cloud_balance_snapshots (account_id, month_to_date_balance, account_balance, month_to_date_usage,
      generated_at, polled_at)
    SELECT 'default', 10, 5, 5, now() - ((20000 - i) * interval '1 hour'), now() - ((20000 - i) * interval '1 hour')
    FROM generate_series(1, 20000) i`);
  // VACUUM as autovacuum would have by then: GIN pending lists merged, the visibility map set.
  await sql('VACUUM ANALYZE');
}
