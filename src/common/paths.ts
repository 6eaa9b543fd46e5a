import path from "node:path";

/**
 * Every default path of behaviour.md §2, rooted at `$HE_HA_ROOT` (default `/`) so that
 * several simulated hosts fit on one machine without touching the real root paths.
 */
export interface HaPaths {
  root: string;
  hostConf: string;
  agentConf: string;
  haConf: string;
  brokerConf: string;
  sharedHostConfCache: string;
  notificationsDir: string;
  runDir: string;
  brokerSocket: string;
  vmConf: string;
  vmConfFallback: string;
  stateDir: string;
  mountRoot: string;
}

export function haPaths(root: string = process.env.HE_HA_ROOT || "/"): HaPaths {
  const at = (p: string) => path.join(root, p);
  return {
    root,
    hostConf: at("etc/ovirt-hosted-engine/hosted-engine.conf"),
    agentConf: at("etc/ovirt-hosted-engine-ha/agent.conf"),
    haConf: at("var/lib/ovirt-hosted-engine-ha/ha.conf"),
    brokerConf: at("var/lib/ovirt-hosted-engine-ha/broker.conf"),
    sharedHostConfCache: at("var/lib/ovirt-hosted-engine-ha/hosted-engine.conf"),
    notificationsDir: at("etc/ovirt-hosted-engine-ha/notifications"),
    runDir: at("var/run/ovirt-hosted-engine-ha"),
    brokerSocket: at("var/run/ovirt-hosted-engine-ha/broker.socket"),
    vmConf: at("var/run/ovirt-hosted-engine-ha/vm.conf"),
    vmConfFallback: at("var/run/ovirt-hosted-engine-ha/vm.conf.fallback"),
    stateDir: at("var/lib/ovirt-hosted-engine-ha"),
    mountRoot: at("rhev/data-center/mnt"),
  };
}
