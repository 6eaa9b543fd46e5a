import type { Command } from "commander";

/**
 * `he-ha console` (hosted-engine --console): the engine VM's serial console through
 * `virsh console`, on this host's libvirt_uri with the credentials hosted-engine set up
 * (`/etc/ovirt-hosted-engine/virsh_auth.conf` as the URI's authfile when it exists).
 */
export function register(program: Command): void {
  program
    .command("console")
    .description("the engine VM's serial console via `virsh console` (hosted-engine --console)")
    .option("--print", "print the virsh command instead of running it")
    .action(async (opts: { print?: boolean }) =>
      (await import("../actions/console.js")).console(opts),
    );
}
