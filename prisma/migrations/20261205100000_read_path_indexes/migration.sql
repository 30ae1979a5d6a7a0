-- Indexes for the read path: every list filters on leading columns and pages by id, so each index is the
-- filter columns, then id. pg_trgm (a contrib extension shipped with PostgreSQL and with embedded-postgres)
-- serves the case-insensitive name search.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- DropIndex
DROP INDEX "cloud_cost_lines_period_kind_idx";

-- DropIndex
DROP INDEX "cloud_cost_lines_resource_id_idx";

-- DropIndex
DROP INDEX "cloud_projects_name_idx";

-- DropIndex
DROP INDEX "cloud_projects_tenant_id_idx";

-- DropIndex
DROP INDEX "cloud_resources_cloud_project_id_idx";

-- DropIndex
DROP INDEX "cloud_resources_region_idx";

-- DropIndex
DROP INDEX "cloud_resources_status_idx";

-- DropIndex
DROP INDEX "cloud_resources_tenant_id_idx";

-- DropIndex
DROP INDEX "sync_runs_status_idx";

-- CreateIndex
CREATE INDEX "cloud_balance_snapshots_polled_at_id_idx" ON "cloud_balance_snapshots"("polled_at", "id");

-- CreateIndex
CREATE INDEX "cloud_cost_lines_invoice_id_id_idx" ON "cloud_cost_lines"("invoice_id", "id");

-- CreateIndex
CREATE INDEX "cloud_cost_lines_invoice_id_kind_id_idx" ON "cloud_cost_lines"("invoice_id", "kind", "id");

-- CreateIndex
CREATE INDEX "cloud_cost_lines_invoice_id_unmatched_reason_id_idx" ON "cloud_cost_lines"("invoice_id", "unmatched_reason", "id");

-- CreateIndex
CREATE INDEX "cloud_cost_lines_period_id_idx" ON "cloud_cost_lines"("period", "id");

-- CreateIndex
CREATE INDEX "cloud_cost_lines_period_kind_id_idx" ON "cloud_cost_lines"("period", "kind", "id");

-- CreateIndex
CREATE INDEX "cloud_cost_lines_period_unmatched_reason_id_idx" ON "cloud_cost_lines"("period", "unmatched_reason", "id");

-- CreateIndex
CREATE INDEX "cloud_cost_lines_resource_id_period_id_idx" ON "cloud_cost_lines"("resource_id", "period", "id");

-- CreateIndex
CREATE INDEX "cloud_projects_tenant_id_name_id_idx" ON "cloud_projects"("tenant_id", "name", "id");

-- CreateIndex
CREATE INDEX "cloud_projects_name_id_idx" ON "cloud_projects"("name", "id");

-- CreateIndex
CREATE INDEX "cloud_projects_name_trgm_idx" ON "cloud_projects" USING GIN ("name" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "cloud_resources_kind_id_idx" ON "cloud_resources"("kind", "id");

-- CreateIndex
CREATE INDEX "cloud_resources_cloud_project_id_id_idx" ON "cloud_resources"("cloud_project_id", "id");

-- CreateIndex
CREATE INDEX "cloud_resources_tenant_id_id_idx" ON "cloud_resources"("tenant_id", "id");

-- CreateIndex
CREATE INDEX "cloud_resources_region_id_idx" ON "cloud_resources"("region", "id");

-- CreateIndex
CREATE INDEX "cloud_resources_status_id_idx" ON "cloud_resources"("status", "id");

-- CreateIndex
CREATE INDEX "cloud_resources_name_id_idx" ON "cloud_resources"("name", "id");

-- CreateIndex
CREATE INDEX "cloud_resources_provider_created_at_id_idx" ON "cloud_resources"("provider_created_at", "id");

-- CreateIndex
CREATE INDEX "cloud_resources_first_seen_at_id_idx" ON "cloud_resources"("first_seen_at", "id");

-- CreateIndex
CREATE INDEX "cloud_resources_name_trgm_idx" ON "cloud_resources" USING GIN ("name" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "cloud_resources_provider_id_idx" ON "cloud_resources"("provider_id");

-- CreateIndex
CREATE INDEX "sync_runs_task_id_idx" ON "sync_runs"("task", "id");

-- CreateIndex
CREATE INDEX "sync_runs_status_id_idx" ON "sync_runs"("status", "id");

-- The descending orders by a nullable column keep nulls last (schema.prisma declares these as plain DESC:
-- Prisma has no NULLS LAST, and its migration diff does not compare the nulls order).
CREATE INDEX "cloud_resources_name_desc_idx" ON "cloud_resources"("name" DESC NULLS LAST, "id" DESC);
CREATE INDEX "cloud_resources_region_desc_idx" ON "cloud_resources"("region" DESC NULLS LAST, "id" DESC);
CREATE INDEX "cloud_resources_status_desc_idx" ON "cloud_resources"("status" DESC NULLS LAST, "id" DESC);
CREATE INDEX "cloud_resources_provider_created_at_desc_idx" ON "cloud_resources"("provider_created_at" DESC NULLS LAST, "id" DESC);
