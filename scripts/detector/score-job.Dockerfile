# The bulk scoring job's image: `detector score` with the production dependencies only. It reads
# models from MODEL_STORE (the bucket), so none are baked in. Built by scripts/detector/score-job.cloudbuild.yaml.
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
RUN npm ci --no-audit --no-fund
COPY functions/src functions/src
COPY pipeline/src pipeline/src
COPY scripts scripts
COPY models/*.json models/
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production METADATA_SERVER_DETECTION=
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/package.json package.json
COPY scripts/detector/detector.js scripts/detector/detector.js
USER node
ENTRYPOINT ["node", "scripts/detector/detector.js"]
