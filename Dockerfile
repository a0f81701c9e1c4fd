# syntax=docker/dockerfile:1
#
# Regentra Gateway. Node.js 24 runs the TypeScript sources directly: there is no
# build step, only the production dependencies are installed.
#
#   docker build -t regentra-gateway .
#   docker run --read-only -v regentra-data:/data -v "$PWD/gateway.yaml:/config/gateway.yaml:ro" \
#     -e REGENTRA_SESSION_KEY=… -p 8080:8080 regentra-gateway
#
# The container writes only to /data (the SQLite database, when used). The
# configuration is expected at /config/gateway.yaml; see docs/operations.md.

FROM node:24-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
RUN groupadd --gid 10001 regentra \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin regentra \
 && mkdir -p /data /config \
 && chown 10001:10001 /data
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
USER 10001:10001
VOLUME ["/data"]
# 8080: the gateway; 9090: the ops listener (/healthz, /readyz, /metrics), which
# binds 127.0.0.1 unless the config sets ops.host: 0.0.0.0
EXPOSE 8080 9090
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.REGENTRA_OPS_PORT || 9090) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node flags: see src/runtime/node-flags.ts
CMD ["node", "--min-semi-space-size=2", "--max-semi-space-size=2", "bin/regentra-gateway.js", "serve", "--config", "/config/gateway.yaml"]
