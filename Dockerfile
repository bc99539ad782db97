# fillstream CLI image: `docker build -t fillstream .`, then e.g.
#   docker run --rm -e KAFKA_BROKERS=host:9092 fillstream topics create --partitions 4
# Used by docker-compose.redpanda.yml. Node 26, the LTS the project pins (infra/dev/node.sh).
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --no-audit --no-fund

FROM node:26-slim
WORKDIR /app
ENV NODE_ENV=production FILLSTREAM_DATA_DIR=/data
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY examples ./examples
COPY infra/clickhouse ./infra/clickhouse
# The data dir (local state, simulated venue journal) belongs to the unprivileged user, so a
# named volume mounted there starts with the right owner.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["--help"]
