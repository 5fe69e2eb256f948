FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
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
# LwM2M over CoAP/UDP, CoAP/DTLS, the embedded MQTT broker, the HTTP management API
EXPOSE 5683/udp 5684/udp 1883 8080
ENTRYPOINT ["node", "bin/lwm2m-gateway.js"]
CMD ["--config", "gateway.yaml"]
