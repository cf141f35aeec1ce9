# One image for every radstream process; the command picks the service (collector, sessionizer, api, migrate).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY services ./services
COPY migrations ./migrations
COPY stack ./stack
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
ENV NODE_ENV=production
USER node
ENTRYPOINT ["node", "packages/cli/bin/radstream.js"]
