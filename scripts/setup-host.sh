#!/usr/bin/env bash
# Installs what hosted-engine-ha needs on a Debian 12 machine, idempotently:
# Debian packages (libvirt, sanlock, QEMU and libvirt's sanlock lock manager for the
# lock-manager tests, network probes, systemd tools; python3-sanlock as a second sanlock
# client that is not our code; python3-yaml for VDSM's own API schema (vdsm-api.yml) in
# the request checks; GlusterFS and xfsprogs for real storage domains; SASL for
# libvirtd with auth_unix_rw = "sasl"; rpm, ansible-core and
# ansible (its community.general collection has the archive module) for packaging and
# deployment; logrotate and sosreport for the shipped log rotation and sos plugin), the users and
# groups libvirtd expects, and the npm dependencies (only when package-lock.json changed).
# Used by `npm test` and `npm run demo`; safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  libvirt-dev libvirt-clients libvirt-daemon libvirt-daemon-driver-qemu
  qemu-system-x86 libvirt-sanlock
  sanlock libsanlock-dev libsanlock1
  iputils-ping dnsutils netcat-openbsd iproute2
  strace python3 python3-fuse systemd util-linux procps tar gzip prometheus openssl
  python3-sanlock python3-yaml
  glusterfs-server glusterfs-client xfsprogs
  sasl2-bin libsasl2-modules
  rpm ansible-core ansible
  logrotate sosreport
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-host: missing Debian packages (${missing[*]}) and not root: install them first" >&2
    exit 1
  fi
  echo "setup-host: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libvirtd (serving the test driver) refuses to start without these.
if [ "$(id -u)" -eq 0 ]; then
  getent group kvm >/dev/null || groupadd -r kvm
  getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
  getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -G kvm -s /usr/sbin/nologin -d /var/lib/libvirt libvirt-qemu
fi

# npm dependencies: `npm ci` only when the lock file differs from what is installed.
stamp=node_modules/.hosted-engine-ha-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  # `npm ci` rejects the lock files npm 11 writes here (platform-specific optional
  # packages such as @biomejs/cli-* are left out of it); `install --no-save` still
  # installs exactly the locked versions and never rewrites the lock.
  npm install --no-save --no-audit --no-fund
  cp package-lock.json "$stamp"
fi
