#!/bin/bash
# `npm run rpm`: builds the hosted-engine-ha RPM for EL 8/9 x86_64 with rpmbuild (Debian's
# `rpm` package works): compiled code, production node_modules as installed here (the
# native modules come prebuilt or built once here: hosts need no compiler), systemd
# drop-ins generated from systemd/*.service, /etc/sysconfig files, SELinux notes; that
# tree packed as Source0, and the spec given the version and the minimum node
# (package.json's version and engines.node). Builds the binary RPM and the SRPM.
# Dist tag: $HE_HA_RPM_DIST (default .el9; EL8 and EL9 run the same build).
# Output (first line the RPM, second the SRPM):
#   .build-rpm/RPMS/x86_64/hosted-engine-ha-<version>-1.el9.x86_64.rpm (or under $HE_HA_RPM_OUT)
#   .build-rpm/SRPMS/hosted-engine-ha-<version>-1.el9.src.rpm
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${HE_HA_RPM_OUT:-$repo/.build-rpm}
cd "$repo"
command -v rpmbuild >/dev/null || { echo "rpmbuild is missing: apt-get install rpm" >&2; exit 1; }
[ "${HE_HA_RPM_SKIP_BUILD:-}" = 1 ] || npm run --silent build
version=$(node -p 'require("./package.json").version')
# engines.node is ">=X.Y": the RPM requires nodejs >= 1:X.Y (EL's nodejs has epoch 1)
node_min=$(node -p 'const e = require("./package.json").engines.node; const m = /^>=\s*([0-9.]+)$/.exec(e); if (!m) throw new Error("engines.node must be >=X.Y, is " + e); m[1]')
dist=${HE_HA_RPM_DIST-.el9}
name=hosted-engine-ha
stage=$out/stage/$name-$version
rm -rf "$out"
mkdir -p "$stage"

cp package.json README.md "$stage/"
mkdir -p "$stage/dist" "$stage/contrib"
cp -a dist/src dist/build-info.json "$stage/dist/"
cp contrib/prometheus-alerts.yml contrib/prometheus-scrape.yml contrib/grafana-dashboard.json "$stage/contrib/"
mkdir -p "$stage/firewalld"
cp contrib/firewalld/ovirt-ha-metrics.xml "$stage/firewalld/"
# production dependencies only, exactly as installed and built here; a package's own
# nested node_modules come with it, so only top-level packages are copied
npm ls --omit=dev --parseable --all 2>/dev/null | tail -n +2 | while read -r dir; do
  rel=${dir#"$repo"/}
  [[ $rel =~ ^node_modules/(@[^/]+/)?[^/]+$ ]] || continue
  # a folder without package.json is not a package: node-gyp leaves build files of a
  # dev dependency's addon (node_modules/@unraid/node-addon-api/*.mk) that npm ls lists
  [ -f "$dir/package.json" ] || continue
  mkdir -p "$stage/$(dirname "$rel")"
  cp -a "$dir" "$stage/$rel"
done
for unit in ovirt-ha-broker ovirt-ha-agent; do
  mkdir -p "$stage/dropins/$unit.service.d"
  node scripts/rpm-dropin.mjs "systemd/$unit.service" "/usr/libexec/hosted-engine-ha/$unit" \
    "$stage/dropins/$unit.service.d/50-hosted-engine-ha.conf"
done
cp -a packaging/rpm/sysconfig "$stage/sysconfig"
mkdir -p "$stage/logrotate" "$stage/sos"
cp packaging/logrotate/hosted-engine-ha "$stage/logrotate/"
cp packaging/sos/ovirt_hosted_engine_ha_ts.py "$stage/sos/"
mkdir -p "$stage/selinux"
cp packaging/selinux/hosted-engine-ha-killpath.te "$stage/selinux/"

mkdir -p "$out/SOURCES" "$out/SPECS"
tar -C "$out/stage" --owner=0 --group=0 -czf "$out/SOURCES/$name-$version.tar.gz" "$name-$version"
{
  echo "%global he_version $version"
  echo "%global he_node_min $node_min"
  cat packaging/rpm/$name.spec
} >"$out/SPECS/$name.spec"

load=()
rpm --eval '%{?systemd_postun_with_restart:defined}' | grep -q defined ||
  load=(--load "$repo/packaging/rpm/macros.systemd-fallback")
rpmbuild -ba --nodeps --quiet "${load[@]}" \
  --define "_topdir $out" \
  --define "dist $dist" \
  --define "_binary_payload w1.gzdio" \
  --define "_source_payload w1.gzdio" \
  --define "_build_id_links none" \
  --define "_missing_build_ids_terminate_build 0" \
  "$out/SPECS/$name.spec"
rm -rf "$out/stage" "$out/BUILDROOT" "$out/BUILD"
ls "$out"/RPMS/x86_64/$name-$version-*.x86_64.rpm
ls "$out"/SRPMS/$name-$version-*.src.rpm
