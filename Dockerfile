# node-uring's demo, server_listen(28977), from the npm package:
#   docker build -t node-uring . && docker run --rm -p 28977:28977 node-uring
# The package is packed here (npm pack, which builds its prebuilt binary),
# installed into an app with no compiler around, as a user's `npm install`
# would, and run on Debian's Node.js. Where Docker's default seccomp profile
# blocks io_uring (Engine 25.0 and later) the server falls back to node:http
# with one warning; run with --security-opt seccomp=seccomp/io_uring.json
# to serve on io_uring (README, "Deploying").
#
# BASE is any Debian 12 image: debian:bookworm-slim from a registry, or one
# made with debootstrap and `docker import` (npm run test:docker does that).
ARG BASE=debian:bookworm-slim

# 1. The npm package, with its prebuilt binary: what `npm pack` ships.
FROM ${BASE} AS pack
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm libnode-dev \
      build-essential python3 liburing-dev node-llhttp ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm pack --pack-destination /tmp && mv /tmp/node-uring-*.tgz /tmp/node-uring.tgz

# 2. The package installed into an app by npm alone: no compiler, make,
# python or liburing here, so it must load the prebuilt binary.
FROM ${BASE} AS install
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=pack /tmp/node-uring.tgz /tmp/
RUN echo '{ "name": "app", "private": true }' > package.json \
 && npm install --omit=dev --no-audit --no-fund --foreground-scripts /tmp/node-uring.tgz \
 && test ! -e node_modules/node-uring/build

# 3. The image: Node.js and the app, run as an unprivileged user.
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home app
WORKDIR /app
COPY --from=install /app /app
USER app
ENV PORT=28977
EXPOSE 28977
# node is PID 1: scripts/start.js handles SIGTERM (`docker stop`) and SIGINT
# itself, closes the server (in-flight responses finish) and exits 0.
CMD ["node", "node_modules/node-uring/scripts/start.js"]
