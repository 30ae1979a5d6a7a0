-- CreateTable
CREATE TABLE "billing_insight_points" (
    "id" SERIAL NOT NULL,
    "account_id" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "occurrence" INTEGER NOT NULL,
    "usage_team_urn" TEXT NOT NULL,
    "sku" TEXT NOT NULL,
    "region" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "group_description" TEXT NOT NULL,
    "amount" DECIMAL(18,6) NOT NULL,
    "kind" TEXT,
    "resource_name" TEXT,
    "resource_id" INTEGER,
    "project_id" INTEGER,
    "tenant_id" TEXT,
    "match_method" TEXT,
    "unmatched_reason" TEXT,

    CONSTRAINT "billing_insight_points_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "billing_insight_rollups" (
    "id" SERIAL NOT NULL,
    "account_id" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "project_id" INTEGER,
    "tenant_id" TEXT,
    "kind" TEXT,
    "unmatched_reason" TEXT,
    "amount" DECIMAL(18,6) NOT NULL,
    "matched_amount" DECIMAL(18,6) NOT NULL,
    "point_count" INTEGER NOT NULL,

    CONSTRAINT "billing_insight_rollups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "billing_insight_days" (
    "account_id" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "digest" TEXT NOT NULL,
    "point_count" INTEGER NOT NULL,
    "amount" DECIMAL(18,6) NOT NULL,
    "written_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "billing_insight_days_pkey" PRIMARY KEY ("account_id","day")
);

-- CreateIndex
CREATE INDEX "billing_insight_points_resource_id_day_idx" ON "billing_insight_points"("resource_id", "day");

-- CreateIndex
CREATE UNIQUE INDEX "billing_insight_points_natural_key" ON "billing_insight_points"("account_id", "day", "sku", "region", "description", "group_description", "usage_team_urn", "occurrence");

-- CreateIndex
CREATE INDEX "billing_insight_rollups_account_id_day_idx" ON "billing_insight_rollups"("account_id", "day");

-- AddForeignKey
ALTER TABLE "billing_insight_points" ADD CONSTRAINT "billing_insight_points_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "cloud_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "billing_insight_points" ADD CONSTRAINT "billing_insight_points_resource_id_fkey" FOREIGN KEY ("resource_id") REFERENCES "cloud_resources"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "billing_insight_points" ADD CONSTRAINT "billing_insight_points_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "cloud_projects"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "billing_insight_rollups" ADD CONSTRAINT "billing_insight_rollups_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "cloud_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "billing_insight_days" ADD CONSTRAINT "billing_insight_days_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "cloud_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;


