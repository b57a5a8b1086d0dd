# The BullMQ worker. Build from the repository root:
#   docker build -f deploy/docker/worker.Dockerfile -t modelyard/worker .
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund \
 && PRISMA_SCHEMA_ENGINE_BINARY=/bin/true npx prisma generate \
 && npx tsc -b tsconfig.build.json

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production MODEL_CACHE_DIR=/tmp/modelyard-models WORKER_HEARTBEAT_FILE=/tmp/modelyard-worker.alive
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/config/package.json libs/config/
COPY libs/contracts/package.json libs/contracts/
COPY libs/server/package.json libs/server/
COPY apps/worker/package.json apps/worker/
RUN npm ci --omit=dev --no-audit --no-fund -w apps/worker && npm cache clean --force
COPY --from=build /app/libs/config/dist libs/config/dist
COPY --from=build /app/libs/contracts/dist libs/contracts/dist
COPY --from=build /app/libs/server/dist libs/server/dist
COPY --from=build /app/apps/worker/dist apps/worker/dist
USER node
# No HTTP here: the worker touches its heartbeat file every few seconds while its event loop and Redis are fine.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "const s=require('fs').statSync(process.env.WORKER_HEARTBEAT_FILE);process.exit(Date.now()-s.mtimeMs<60000?0:1)"
CMD ["node", "apps/worker/dist/main.js"]
