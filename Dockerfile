# syntax=docker/dockerfile:1
# One image per service, all built from the same stages:
#   docker build --target ingress   -t runway-relay/ingress .
#   docker build --target worker    -t runway-relay/worker .
#   docker build --target dashboard -t runway-relay/dashboard .
# The services run their TypeScript sources with tsx (no build step), which is why tsx is
# a production dependency of the root package.

# Node 22 (LTS): the production runtime, the major in .nvmrc. package.json's engines (>=20.19) is the
# floor CI tests; test/node-version.test.ts keeps the four in agreement (docs/deployment.md#node-versions).
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app

# Only the workspace manifests, so the dependency layer is rebuilt when a package.json
# changes, not on every source edit (COPY --from compares content, not timestamps).
FROM base AS manifests
COPY packages packages
COPY services services
RUN find packages services -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +

# Production dependencies of the services and the packages they import. testkit and the
# simulator are left out (testcontainers, s3rver), but their manifests must be present for
# the lockfile to match.
FROM base AS deps
COPY package.json package-lock.json ./
COPY --from=manifests /app/packages packages
COPY --from=manifests /app/services services
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund --include-workspace-root \
      -w @runway-relay/contracts -w @runway-relay/runtime \
      -w @runway-relay/ingress -w @runway-relay/worker -w @runway-relay/dashboard

FROM base AS runtime
ENV NODE_ENV=production
COPY --from=deps /app ./
COPY packages packages
COPY services services
# The code stays owned by root: the service user can read it, not change it.
USER node
# Every service drains on SIGTERM; compose gives it stop_grace_period before SIGKILL.
STOPSIGNAL SIGTERM

# `node --import tsx` rather than the tsx CLI: one process, so PID 1 is the service itself and
# receives SIGTERM directly (the CLI would add a ~50 MB parent that relays signals).
FROM runtime AS ingress
# 3000: public callbacks (and /healthz); 9465: /readyz and /metrics, for the internal network only.
EXPOSE 3000 9465
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.INGRESS_PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
CMD ["node", "--import", "tsx", "services/ingress/src/main.ts"]

FROM runtime AS worker
# Health and metrics only; the worker takes no traffic.
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.WORKER_METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
CMD ["node", "--import", "tsx", "services/worker/src/main.ts"]

FROM runtime AS dashboard
EXPOSE 3001
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.DASHBOARD_PORT||3001)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
CMD ["node", "--import", "tsx", "services/dashboard/src/main.ts"]
