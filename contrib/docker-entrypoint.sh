#!/bin/sh
# Container entrypoint of hosted-engine-ha: the first argument picks the program.
#   broker [options]   ovirt-ha-broker
#   agent [options]    ovirt-ha-agent
#   he-ha <command>    the operator CLI (status, maintenance, ...)
#   anything else      run as given (e.g. sh)
# HE_HA_INSTALL_DIR (default /opt/hosted-engine-ha) is where dist/ lives.
set -eu
bin="${HE_HA_INSTALL_DIR:-/opt/hosted-engine-ha}/dist/src/bin"
case "${1:-broker}" in
  broker | ovirt-ha-broker) [ $# -gt 0 ] && shift; exec node "$bin/ovirt-ha-broker.js" "$@" ;;
  agent | ovirt-ha-agent) shift; exec node "$bin/ovirt-ha-agent.js" "$@" ;;
  he-ha) shift; exec node "$bin/he-ha.js" "$@" ;;
  *) exec "$@" ;;
esac
