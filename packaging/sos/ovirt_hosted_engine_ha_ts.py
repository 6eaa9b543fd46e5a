# hosted-engine-ha: sos report plugin for the TypeScript ovirt-ha-agent and
# ovirt-ha-broker. Installed into sos's plugin directory (sos/report/plugins/) by the
# RPM; `sos report -o ovirt_hosted_engine_ha_ts` runs it alone. sos's own
# ovirt_hosted_engine plugin (for the Python package, which stays installed) collects
# the same log files and `hosted-engine --vm-status`; this one adds what only our
# daemons have: the broker's JSON status, the whiteboard read straight from storage,
# the journal of both units and the logrotate and sysconfig files.
#
# This file is material for sos (its Plugin API), not part of the Node program.

from sos.report.plugins import DebianPlugin, Plugin, RedHatPlugin, UbuntuPlugin

LOG_DIR = "/var/log/ovirt-hosted-engine-ha"


class OvirtHostedEngineHaTs(Plugin, RedHatPlugin, DebianPlugin, UbuntuPlugin):

    short_desc = "oVirt hosted-engine HA services (hosted-engine-ha, TypeScript)"

    plugin_name = "ovirt_hosted_engine_ha_ts"
    profiles = ("virt",)
    packages = ("hosted-engine-ha",)
    files = ("/usr/bin/he-ha",)

    def setup(self):
        # agent.log, broker.log and the 7 days logrotate keeps (agent.log.1 ... .7);
        # the size limit is sos's --log-size unless --all-logs
        self.add_copy_spec([
            LOG_DIR + "/agent.log*",
            LOG_DIR + "/broker.log*",
        ])
        self.add_copy_spec([
            "/etc/ovirt-hosted-engine/hosted-engine.conf",
            "/etc/ovirt-hosted-engine-ha/agent.conf",
            "/etc/ovirt-hosted-engine-ha/notifications/",
            "/var/lib/ovirt-hosted-engine-ha/",
            "/run/ovirt-hosted-engine-ha/vm.conf",
            "/etc/sysconfig/ovirt-ha-agent",
            "/etc/sysconfig/ovirt-ha-broker",
            "/etc/default/ovirt-ha-agent",
            "/etc/default/ovirt-ha-broker",
            "/etc/logrotate.d/hosted-engine-ha",
        ])
        # the cluster as the broker sees it, and every block of the whiteboard as it is
        # on storage (works with the broker down)
        self.add_cmd_output([
            "he-ha status --json",
            "he-ha metadata dump --json",
        ])
        self.add_journal(units=["ovirt-ha-agent", "ovirt-ha-broker"])

# vim: expandtab tabstop=4 shiftwidth=4
