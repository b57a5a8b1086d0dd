# The api (and, as target `migrate`, the one-shot migration runner). Build from the repository root:
#   docker build -f deploy/docker/api.Dockerfile -t modelyard/api .
#   docker build -f deploy/docker/api.Dockerfile --target migrate -t modelyard/migrate .
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
# Dev dependencies are needed to build (TypeScript, Prisma's generator) and to migrate (Prisma's schema engine).
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && PRISMA_SCHEMA_ENGINE_BINARY=/bin/true npx prisma generate \
 && npx tsc -b tsconfig.build.json

# Applies prisma/migrations to DATABASE_URL and exits (compose: a one-shot service; Helm: a pre-upgrade Job).
FROM build AS migrate
USER node
CMD ["node", "scripts/migrations.mjs", "apply"]

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production API_PORT=8080 API_HOST=0.0.0.0 MODEL_CACHE_DIR=/tmp/modelyard-models
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/config/package.json libs/config/
COPY libs/contracts/package.json libs/contracts/
COPY libs/server/package.json libs/server/
COPY apps/api/package.json apps/api/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund -w apps/api && npm cache clean --force
COPY --from=build /app/libs/config/dist libs/config/dist
COPY --from=build /app/libs/contracts/dist libs/contracts/dist
COPY --from=build /app/libs/server/dist libs/server/dist
COPY --from=build /app/apps/api/dist apps/api/dist
USER node
EXPOSE 8080
# /readyz answers 200 only once every Production version is loaded and warm.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.API_PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The node flags every api process starts with: scripts/platform.mjs API_NODE_FLAGS (a larger young generation).
CMD ["node", "--max-semi-space-size=64", "apps/api/dist/main.js"]
