# The dashboard (Next.js). Build from the repository root:
#   docker build -f deploy/docker/web.Dockerfile -t modelyard/web .
# API_URL (where the api is, e.g. http://api:8080) is read when the server starts, not at build time.
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
 && npx tsc -b libs/contracts \
 && cd apps/web && NEXT_TELEMETRY_DISABLED=1 npx next build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/contracts/package.json libs/contracts/
COPY apps/web/package.json apps/web/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund -w apps/web && npm cache clean --force
COPY --from=build /app/libs/contracts/dist libs/contracts/dist
COPY --from=build --chown=node:node /app/apps/web/.next apps/web/.next
COPY apps/web/next.config.ts apps/web/server.mjs apps/web/
COPY apps/web/lib/api-path.mjs apps/web/lib/
USER node
WORKDIR /app/apps/web
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/login').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# server.mjs runs Next behind its own node:http server (client address from the socket, slow-client timeouts).
CMD ["node", "server.mjs"]
