# The BullMQ worker. Build from the repository root:
#   docker build -f deploy/docker/worker.Dockerfile -t modelyard/worker .
# Node 22 LTS, pinned by digest (the multi-platform index of node:22.23.2-bookworm-slim, amd64 and arm64 among them).
# deploy/README.md says where the digest comes from and how to move it.
ARG NODE_IMAGE=node:22.23.2-bookworm-slim@sha256:48e4b67d85f87bd551df43704e24d252f56cc5f8e9718841aace50f19948f0f9
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# No install script is needed or wanted (the repository's allowScripts says the same): native parts come as
# prebuilt optional packages, which the lockfile lists for linux x64 and arm64; onnxruntime-node ships its CPU
# binaries; Prisma's client is generated below. Without scripts nothing downloads at install time.
ENV ONNXRUNTIME_NODE_INSTALL=skip NEXT_TELEMETRY_DISABLED=1 CHECKPOINT_DISABLE=1
COPY . .
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && PRISMA_SCHEMA_ENGINE_BINARY=/bin/true npx prisma generate \
 && npx tsc -b tsconfig.build.json

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production MODEL_CACHE_DIR=/tmp/modelyard-models WORKER_HEARTBEAT_FILE=/tmp/modelyard-worker.alive
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/config/package.json libs/config/
COPY libs/contracts/package.json libs/contracts/
COPY libs/server/package.json libs/server/
COPY apps/worker/package.json apps/worker/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund -w apps/worker && npm cache clean --force
COPY --from=build /app/libs/config/dist libs/config/dist
COPY --from=build /app/libs/contracts/dist libs/contracts/dist
COPY --from=build /app/libs/server/dist libs/server/dist
COPY --from=build /app/apps/worker/dist apps/worker/dist
USER node
# No HTTP here: the worker touches its heartbeat file every few seconds while its event loop and Redis are fine.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "const s=require('fs').statSync(process.env.WORKER_HEARTBEAT_FILE);process.exit(Date.now()-s.mtimeMs<60000?0:1)"
CMD ["node", "apps/worker/dist/main.js"]
