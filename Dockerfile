FROM node:20-bookworm-slim AS build
WORKDIR /app
# The DTLS addon is compiled by npm ci against the OpenSSL inside node (headers ship with the image).
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY native ./native
RUN npm ci
COPY . .
# a+rX: the runtime user (node) must read every file whatever the modes in the build context were.
RUN npm run build && npm prune --omit=dev && chmod -R a+rX package.json node_modules dist bin schemas console gateway.yaml native/build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/schemas ./schemas
COPY --from=build /app/console ./console
COPY --from=build /app/gateway.yaml ./gateway.yaml
COPY --from=build /app/native/build/Release/lwm2m_dtls.node ./native/build/Release/lwm2m_dtls.node
# Not root: the files stay root-owned and readable by all (COPY keeps the build stage's modes), so the
# gateway reads its code and config (the default /app/gateway.yaml, or one mounted readable for uid 1000)
# but cannot change them.
# The embedded store (store.dir, default data): the one directory the gateway writes, owned by node.
# Mount a volume there to keep devices across container restarts.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]
USER node
# LwM2M over CoAP/UDP, CoAP/DTLS, the embedded MQTT broker, the management plane (http.bind; reachable
# from outside the container only with http.api_keys set and bind "0.0.0.0:8080").
EXPOSE 5683/udp 5684/udp 5783/udp 5784/udp 1883 8080
# Ready = listeners bound, broker connected, store reachable, state restored (/health/ready, never behind
# a key). Plain HTTP on 127.0.0.1:8080, the default; a configuration with another port or TLS overrides it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/lwm2m-gateway.js"]
CMD ["--config", "gateway.yaml"]
