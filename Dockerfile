# Tributary as an ECS task: `docker build -t tributary .`, then run with the Kafka brokers and AWS
# settings in the environment (see README, "Running on ECS"). ECS sends SIGTERM on stop; Tributary
# drains, flushes, commits and exits within TRIBUTARY_SHUTDOWN_TIMEOUT_MS (default 25 s), so keep the
# task's stopTimeout above that (e.g. 30 s).
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-slim
ENV NODE_ENV=production
# 8 MB young-generation semi-spaces: measured ~25% less RSS than V8's default for the same throughput
# (bench/RESULTS.md). Also cap the heap to the task's memory, e.g. --max-old-space-size=320 (the
# default bounds fit it) or --max-old-space-size-percentage=40 (a plain number, no % sign), sized for
# the dedup keys and in-flight records your topology holds (README, "Memory model").
ENV NODE_OPTIONS="--max-semi-space-size=8"
# Two malloc arenas instead of eight per core: measured 30-40 MB less RSS (bench/RESULTS.md).
ENV MALLOC_ARENA_MAX=2
# Allocations of 64 KiB and more (the sockets' read chunks) straight from mmap, returned to the system
# when freed: glibc otherwise raises this threshold as such blocks are freed and keeps their memory in
# its arena. Measured ~100 MB less steady RSS at the same throughput (bench/RESULTS.md, "malloc").
ENV MALLOC_MMAP_THRESHOLD_=65536
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY topologies ./topologies
USER node
# /healthz, /readyz, /metrics (Prometheus) and the status page; TRIBUTARY_HTTP_PORT moves it.
EXPOSE 9464
# The slim image has no curl; Node's fetch does the probe (the ECS task definition repeats it).
# With TRIBUTARY_HTTP_PORT=off there is no /healthz and this check always fails (tributary run warns
# at start): run such a container with --no-healthcheck, and drop the task definition's check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.TRIBUTARY_HTTP_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "src/cli.ts"]
CMD ["run", "topologies/game-events.yaml"]
