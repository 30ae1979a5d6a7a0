#!/usr/bin/env bash
# Fails when prisma/schema.prisma and prisma/migrations/ have drifted apart, i.e. someone changed the
# data model without `npx prisma migrate dev --name <change>` (or edited a migration by hand).
#
# How: replays every migration into a temporary shadow database and diffs the result against the
# schema (`prisma migrate diff --exit-code`: 0 in sync, 2 drift, 1 error). The shadow database is
# created and dropped on the server of DATABASE_URL when set, else on 127.0.0.1:5432; with neither,
# an embedded PostgreSQL is started for the check. SHADOW_DATABASE_URL, when set, is used instead of
# a temporary database (it gets emptied). CHECK_MIGRATIONS_EMBEDDED=1 forces the embedded server.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -f prisma/migrations/migration_lock.toml ]] || ! compgen -G 'prisma/migrations/*/migration.sql' >/dev/null; then
  echo "check-migrations: no migrations in prisma/migrations (create them with: npx prisma migrate dev --name init)" >&2
  exit 1
fi

reachable() { # host port
  node -e "const s=require('net').connect(Number(process.argv[2]),process.argv[1]);s.setTimeout(2000);s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));s.on('timeout',()=>process.exit(1))" "$1" "$2"
}

run_diff() {
  # The engine only needs the server: this database may not exist, the shim then uses `postgres`.
  set +e
  npx prisma migrate diff --from-migrations prisma/migrations --to-schema prisma/schema.prisma --exit-code >/tmp/check-migrations.$$ 2>&1
  local status=$?
  set -e
  case "$status" in
    0)
      echo "check-migrations: OK, prisma/migrations matches prisma/schema.prisma"
      ;;
    2)
      {
        echo "check-migrations: DRIFT: prisma/schema.prisma differs from what prisma/migrations produces:"
        grep -v '^Loaded Prisma config' /tmp/check-migrations.$$ | sed '/^$/d'
        echo
        echo "SQL a new migration would need:"
        npx prisma migrate diff --from-migrations prisma/migrations --to-schema prisma/schema.prisma --script 2>/dev/null | sed -e '/^[[:space:]]*$/d' -e 's/^/    /' || true
        echo
        echo "Fix: npx prisma migrate dev --name <describe-the-change>  (never edit an applied migration)"
      } >&2
      ;;
    *)
      {
        echo "check-migrations: ERROR: could not compare migrations and schema (exit $status):"
        cat /tmp/check-migrations.$$
      } >&2
      ;;
  esac
  rm -f /tmp/check-migrations.$$
  return "$status"
}

# CHECK_MIGRATIONS_EMBEDDED=1 forces the embedded server (e.g. to test that path).
if [[ "${CHECK_MIGRATIONS_EMBEDDED:-}" != 1 && -n "${DATABASE_URL:-}" ]]; then
  run_diff
  exit $?
fi

if [[ "${CHECK_MIGRATIONS_EMBEDDED:-}" != 1 ]] && reachable 127.0.0.1 5432; then
  export DATABASE_URL="postgresql://postgres@127.0.0.1:5432/postgres"
  run_diff
  exit $?
fi

if [[ "${CHECK_MIGRATIONS_EMBEDDED:-}" == 1 ]]; then
  echo "check-migrations: CHECK_MIGRATIONS_EMBEDDED=1: using an embedded PostgreSQL" >&2
else
  echo "check-migrations: no DATABASE_URL and nothing on 127.0.0.1:5432: using an embedded PostgreSQL" >&2
fi
exec npx tsx --eval '
  (async () => {
    const { spawnSync } = await import("node:child_process");
    const path = await import("node:path");
    const { startEmbeddedPostgres } = await import(path.resolve("src/db/embedded.ts"));
    const port = Number(process.env.CHECK_MIGRATIONS_PG_PORT ?? 54338);
    const db = await startEmbeddedPostgres({ dataDir: path.resolve(".data/check-migrations-postgres"), port });
    let status = 1;
    try {
      // Run this script again, now with DATABASE_URL pointing at the embedded server.
      const env = { ...process.env, DATABASE_URL: db.url, CHECK_MIGRATIONS_EMBEDDED: "" };
      status = spawnSync("bash", ["scripts/check-migrations.sh"], { stdio: "inherit", env }).status ?? 1;
    } finally {
      await db.stop();
    }
    process.exit(status);
  })().catch((error) => {
    console.error("check-migrations: could not start an embedded PostgreSQL:", error instanceof Error ? error.message : error);
    process.exit(1);
  });
'
