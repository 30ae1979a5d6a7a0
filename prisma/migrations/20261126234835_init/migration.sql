-- CreateTable
CREATE TABLE "cloud_accounts" (
    "id" TEXT NOT NULL,
    "name" TEXT,
    "team_uuid" TEXT,
    "email" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "cloud_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cloud_projects" (
    "id" SERIAL NOT NULL,
    "account_id" TEXT NOT NULL,
    "provider_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "purpose" TEXT,
    "environment" TEXT,
    "is_default" BOOLEAN NOT NULL DEFAULT false,
    "tenant_id" TEXT,
    "provider_created_at" TIMESTAMPTZ(3),
    "provider_updated_at" TIMESTAMPTZ(3),
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "miss_count" INTEGER NOT NULL DEFAULT 0,
    "stale_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "cloud_projects_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cloud_resources" (
    "id" SERIAL NOT NULL,
    "account_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "provider_id" TEXT NOT NULL,
    "name" TEXT,
    "region" TEXT,
    "status" TEXT,
    "size" TEXT,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "attrs" JSONB NOT NULL DEFAULT '{}',
    "fingerprint" TEXT,
    "cloud_project_id" INTEGER,
    "tenant_id" TEXT,
    "attribution_source" TEXT,
    "provider_created_at" TIMESTAMPTZ(3),
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "miss_count" INTEGER NOT NULL DEFAULT 0,
    "stale_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "cloud_resources_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sync_runs" (
    "id" SERIAL NOT NULL,
    "account_id" TEXT,
    "task" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "job_id" TEXT,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    "duration_ms" INTEGER,
    "complete" BOOLEAN,
    "pages" INTEGER NOT NULL DEFAULT 0,
    "api_calls" INTEGER NOT NULL DEFAULT 0,
    "listed" INTEGER NOT NULL DEFAULT 0,
    "created" INTEGER NOT NULL DEFAULT 0,
    "updated" INTEGER NOT NULL DEFAULT 0,
    "unchanged" INTEGER NOT NULL DEFAULT 0,
    "marked_stale" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "details" JSONB,

    CONSTRAINT "sync_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cloud_balance_snapshots" (
    "id" SERIAL NOT NULL,
    "account_id" TEXT NOT NULL,
    "month_to_date_balance" DECIMAL(18,6) NOT NULL,
    "account_balance" DECIMAL(18,6) NOT NULL,
    "month_to_date_usage" DECIMAL(18,6) NOT NULL,
    "generated_at" TIMESTAMPTZ(3) NOT NULL,
    "polled_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "cloud_balance_snapshots_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cloud_billing_history" (
    "id" SERIAL NOT NULL,
    "account_id" TEXT NOT NULL,
    "natural_key" TEXT NOT NULL,
    "date" TIMESTAMPTZ(3) NOT NULL,
    "type" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "amount" DECIMAL(18,6) NOT NULL,
    "invoice_id" TEXT,
    "invoice_uuid" TEXT,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "cloud_billing_history_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cloud_invoices" (
    "id" SERIAL NOT NULL,
    "account_id" TEXT NOT NULL,
    "invoice_uuid" TEXT NOT NULL,
    "invoice_id" TEXT,
    "period" TEXT NOT NULL,
    "amount" DECIMAL(18,6) NOT NULL,
    "provisional" BOOLEAN NOT NULL DEFAULT false,
    "provider_updated_at" TIMESTAMPTZ(3),
    "ingest_status" TEXT NOT NULL DEFAULT 'pending',
    "csv_ingested" BOOLEAN NOT NULL DEFAULT false,
    "items_ingested" BOOLEAN NOT NULL DEFAULT false,
    "ingested_at" TIMESTAMPTZ(3),
    "ingest_attempts" INTEGER NOT NULL DEFAULT 0,
    "ingest_error" TEXT,
    "line_count" INTEGER NOT NULL DEFAULT 0,
    "matched_count" INTEGER NOT NULL DEFAULT 0,
    "lines_amount" DECIMAL(18,6) NOT NULL DEFAULT 0,
    "matched_amount" DECIMAL(18,6) NOT NULL DEFAULT 0,
    "match_rate" DECIMAL(7,6),
    "summary" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "cloud_invoices_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cloud_cost_lines" (
    "id" SERIAL NOT NULL,
    "invoice_id" INTEGER NOT NULL,
    "line_no" INTEGER NOT NULL,
    "source" TEXT NOT NULL,
    "period" TEXT NOT NULL,
    "product" TEXT NOT NULL,
    "group_description" TEXT,
    "description" TEXT NOT NULL,
    "kind" TEXT,
    "resource_name" TEXT,
    "resource_uuid" TEXT,
    "resource_provider_id" TEXT,
    "hours" DECIMAL(12,2),
    "start_at" TIMESTAMPTZ(3),
    "end_at" TIMESTAMPTZ(3),
    "amount" DECIMAL(18,6) NOT NULL,
    "project_name" TEXT,
    "category" TEXT,
    "resource_id" INTEGER,
    "match_method" TEXT,
    "unmatched_reason" TEXT,

    CONSTRAINT "cloud_cost_lines_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "cloud_projects_tenant_id_idx" ON "cloud_projects"("tenant_id");

-- CreateIndex
CREATE INDEX "cloud_projects_name_idx" ON "cloud_projects"("name");

-- CreateIndex
CREATE UNIQUE INDEX "cloud_projects_account_id_provider_id_key" ON "cloud_projects"("account_id", "provider_id");

-- CreateIndex
CREATE INDEX "cloud_resources_kind_name_idx" ON "cloud_resources"("kind", "name");

-- CreateIndex
CREATE INDEX "cloud_resources_cloud_project_id_idx" ON "cloud_resources"("cloud_project_id");

-- CreateIndex
CREATE INDEX "cloud_resources_tenant_id_idx" ON "cloud_resources"("tenant_id");

-- CreateIndex
CREATE INDEX "cloud_resources_region_idx" ON "cloud_resources"("region");

-- CreateIndex
CREATE INDEX "cloud_resources_status_idx" ON "cloud_resources"("status");

-- CreateIndex
CREATE INDEX "cloud_resources_stale_at_idx" ON "cloud_resources"("stale_at");

-- CreateIndex
CREATE INDEX "cloud_resources_tags_idx" ON "cloud_resources" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "cloud_resources_account_id_kind_provider_id_key" ON "cloud_resources"("account_id", "kind", "provider_id");

-- CreateIndex
CREATE INDEX "sync_runs_task_started_at_idx" ON "sync_runs"("task", "started_at" DESC);

-- CreateIndex
CREATE INDEX "sync_runs_status_idx" ON "sync_runs"("status");

-- CreateIndex
CREATE INDEX "cloud_balance_snapshots_account_id_polled_at_idx" ON "cloud_balance_snapshots"("account_id", "polled_at" DESC);

-- CreateIndex
CREATE INDEX "cloud_billing_history_account_id_date_idx" ON "cloud_billing_history"("account_id", "date" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "cloud_billing_history_account_id_natural_key_key" ON "cloud_billing_history"("account_id", "natural_key");

-- CreateIndex
CREATE INDEX "cloud_invoices_period_idx" ON "cloud_invoices"("period");

-- CreateIndex
CREATE INDEX "cloud_invoices_ingest_status_idx" ON "cloud_invoices"("ingest_status");

-- CreateIndex
CREATE UNIQUE INDEX "cloud_invoices_account_id_invoice_uuid_key" ON "cloud_invoices"("account_id", "invoice_uuid");

-- CreateIndex
CREATE INDEX "cloud_cost_lines_period_kind_idx" ON "cloud_cost_lines"("period", "kind");

-- CreateIndex
CREATE INDEX "cloud_cost_lines_resource_id_idx" ON "cloud_cost_lines"("resource_id");

-- CreateIndex
CREATE INDEX "cloud_cost_lines_project_name_idx" ON "cloud_cost_lines"("project_name");

-- CreateIndex
CREATE UNIQUE INDEX "cloud_cost_lines_invoice_id_line_no_key" ON "cloud_cost_lines"("invoice_id", "line_no");

-- AddForeignKey
ALTER TABLE "cloud_projects" ADD CONSTRAINT "cloud_projects_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "cloud_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cloud_resources" ADD CONSTRAINT "cloud_resources_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "cloud_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cloud_resources" ADD CONSTRAINT "cloud_resources_cloud_project_id_fkey" FOREIGN KEY ("cloud_project_id") REFERENCES "cloud_projects"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sync_runs" ADD CONSTRAINT "sync_runs_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "cloud_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cloud_balance_snapshots" ADD CONSTRAINT "cloud_balance_snapshots_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "cloud_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cloud_billing_history" ADD CONSTRAINT "cloud_billing_history_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "cloud_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cloud_invoices" ADD CONSTRAINT "cloud_invoices_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "cloud_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cloud_cost_lines" ADD CONSTRAINT "cloud_cost_lines_invoice_id_fkey" FOREIGN KEY ("invoice_id") REFERENCES "cloud_invoices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cloud_cost_lines" ADD CONSTRAINT "cloud_cost_lines_resource_id_fkey" FOREIGN KEY ("resource_id") REFERENCES "cloud_resources"("id") ON DELETE SET NULL ON UPDATE CASCADE;
