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
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY topologies ./topologies
USER node
ENTRYPOINT ["node", "src/cli.ts"]
CMD ["run", "topologies/game-events.yaml"]
