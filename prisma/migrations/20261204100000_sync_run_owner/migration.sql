-- The process running a sync (its lease id, src/jobs/lease.ts): a run whose owner's lease is gone is abandoned.
ALTER TABLE "sync_runs" ADD COLUMN "owner" TEXT;
