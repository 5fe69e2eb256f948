FROM node:20-bookworm-slim AS build
WORKDIR /app
# The DTLS addon is compiled by npm ci against the OpenSSL inside node (headers ship with the image).
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY native ./native
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/schemas ./schemas
COPY --from=build /app/gateway.yaml ./gateway.yaml
COPY --from=build /app/native/build/Release/lwm2m_dtls.node ./native/build/Release/lwm2m_dtls.node
# LwM2M over CoAP/UDP, CoAP/DTLS, the embedded MQTT broker, the HTTP management API
EXPOSE 5683/udp 5684/udp 1883 8080
ENTRYPOINT ["node", "bin/lwm2m-gateway.js"]
CMD ["--config", "gateway.yaml"]
