# The dashboard (Next.js). Build from the repository root:
#   docker build -f deploy/docker/web.Dockerfile -t modelyard/web .
# API_URL (where the api is, e.g. http://api:8080) is read when the server starts, not at build time.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund \
 && npx tsc -b libs/contracts \
 && cd apps/web && NEXT_TELEMETRY_DISABLED=1 npx next build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/contracts/package.json libs/contracts/
COPY apps/web/package.json apps/web/
RUN npm ci --omit=dev --no-audit --no-fund -w apps/web && npm cache clean --force
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
