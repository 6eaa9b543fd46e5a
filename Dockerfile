# syntax=docker/dockerfile:1
# hosted-engine-ha: ovirt-ha-broker and ovirt-ha-agent in one image.
#   docker build -t hosted-engine-ha .
#   docker run ... hosted-engine-ha broker      (or: agent, he-ha <command>)
# The host mounts it needs are listed in README.md ("Running in a container").

ARG NODE_IMAGE=node:20-bookworm
ARG NODE_RUNTIME_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript, build the libvirt binding against libvirt-dev ----
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvirt-dev build-essential python3 pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# `npm ci` rejects this lock file (npm leaves platform-specific optional packages out of
# it); `install --no-save` installs exactly the locked versions without rewriting it.
RUN npm install --no-save --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY lab ./lab
COPY bench ./bench
# `npm run build` also writes dist/build-info.json (ovirt_ha_build_info's commit):
# docker build --build-arg HE_HA_BUILD_COMMIT=$(git rev-parse HEAD) ...
COPY scripts/build-info.mjs ./scripts/
ARG HE_HA_BUILD_COMMIT=""
RUN HE_HA_BUILD_COMMIT="$HE_HA_BUILD_COMMIT" npm run build

# ---- production dependencies only (native modules built here, with the toolchain) ----
FROM build AS deps
WORKDIR /deps
COPY package.json package-lock.json ./
RUN npm install --no-save --no-audit --no-fund --omit=dev

# ---- runtime: shared libraries, ping, the built code ----
FROM ${NODE_RUNTIME_IMAGE} AS runtime
# libvirt0 (libvirt.so.0) and libsanlock1/libsanlock-client1: opened through koffi;
# libsystemd0 (already in the base image): sd_notify; iputils-ping, dnsutils (dig): the
# network monitor (network_test=ping / dns).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvirt0 libsanlock1 libsanlock-client1 libsystemd0 iputils-ping dnsutils \
 && rm -rf /var/lib/apt/lists/*
# oVirt's fixed ids: user vdsm (36) in group kvm (36) own the storage domain files, the
# broker socket and /var/lib/ovirt-hosted-engine-ha on every oVirt host; the container
# uses the same numbers so files it writes on the host keep their owner.
RUN (getent group kvm >/dev/null || groupadd -r -g 36 kvm) \
 && (getent passwd vdsm >/dev/null || useradd -r -u 36 -g kvm -d /var/lib/vdsm -s /usr/sbin/nologin vdsm) \
 && mkdir -p /var/run/ovirt-hosted-engine-ha /var/lib/ovirt-hosted-engine-ha \
 && chown vdsm:kvm /var/run/ovirt-hosted-engine-ha /var/lib/ovirt-hosted-engine-ha
WORKDIR /opt/hosted-engine-ha
COPY --from=deps /deps/node_modules ./node_modules
# the product only: dist/lab (demo, real-daemon harness) and dist/bench stay in the build stage
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/build-info.json ./dist/
COPY package.json ./
COPY systemd ./systemd
COPY contrib ./contrib
RUN install -m 0755 contrib/docker-entrypoint.sh /usr/local/bin/hosted-engine-ha-entrypoint \
 && ln -s /opt/hosted-engine-ha/dist/src/bin/he-ha.js /usr/local/bin/he-ha \
 && ln -s /opt/hosted-engine-ha/dist/src/bin/ovirt-ha-broker.js /usr/local/bin/ovirt-ha-broker \
 && ln -s /opt/hosted-engine-ha/dist/src/bin/ovirt-ha-agent.js /usr/local/bin/ovirt-ha-agent
ENV NODE_ENV=production
# Non-root. The sanlock and libvirt sockets are group-owned (sanlock, libvirt) with host
# gids that differ between hosts: add them at run time with --group-add (see docs).
USER vdsm:kvm
ENTRYPOINT ["/usr/local/bin/hosted-engine-ha-entrypoint"]
CMD ["broker"]
