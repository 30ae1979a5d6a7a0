-- CreateTable
CREATE TABLE "digitalocean_request_budgets" (
    "token_hash" TEXT NOT NULL,
    "stamps" TIMESTAMPTZ(6)[],
    "granted" BOOLEAN NOT NULL DEFAULT true,
    "wait_ms" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "digitalocean_request_budgets_pkey" PRIMARY KEY ("token_hash")
);
