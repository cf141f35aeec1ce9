# One image for every radstream process; the command picks the service (collector, sessionizer, api,
# migrate). Built in two stages: the first compiles dist/radstream.js with the dev dependencies, the
# second holds only that bundle and the production dependencies (no TypeScript, no tsx, no
# testcontainers, no local-stack code: it never installs or starts anything on its host). Node 22:
# what @platformatic/kafka 2 declares (radstream also runs on Node 20.19+, see docs/kafka.md).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY services ./services
COPY migrations ./migrations
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund \
  && node scripts/build.mjs \
  && rm dist/local-stack.js dist/local-stack.js.map \
  && npm prune --omit=dev --no-audit --no-fund \
  # The workspace folders keep only their manifests: the bundle holds their code.
  && find packages services -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages ./packages
COPY --from=build /app/services ./services
COPY --from=build /app/dist ./dist
USER node
ENTRYPOINT ["node", "--enable-source-maps", "dist/radstream.js"]
