/**
 * `hosted-engine` spellings accepted by `he-ha` (interfaces.md): the first word that
 * is one of them becomes the he-ha command; options written before it are kept after.
 */
interface Alias {
  words: string[];
  /** option spellings of hosted-engine that he-ha names differently */
  options?: Record<string, string>;
}

const ALIASES: Record<string, Alias> = {
  "--vm-status": { words: ["status"] },
  "--set-maintenance": { words: ["maintenance"] },
  "--vm-start": { words: ["vm", "start"] },
  "--vm-shutdown": { words: ["vm", "shutdown"] },
  "--vm-poweroff": { words: ["vm", "poweroff"] },
  "--check-liveliness": { words: ["liveliness"] },
  "--reinitialize-lockspace": { words: ["lockspace", "reinit"] },
  "--clean-metadata": { words: ["metadata", "clean"], options: { "--force-clean": "--force" } },
  "--get-shared-config": { words: ["config", "get"] },
  "--set-shared-config": { words: ["config", "set"] },
  "--console": { words: ["console"] },
  "--check-deployed": { words: ["check-deployed"] },
  "--connect-storage": { words: ["storage", "connect"] },
  "--disconnect-storage": { words: ["storage", "disconnect"] },
};

/**
 * hosted-engine verbs he-ha does not implement, each with what to do instead. They
 * answer with that advice (exit 2), never "unknown option".
 */
export const UNSUPPORTED: Readonly<Record<string, string>> = {
  "--vm-start-paused":
    "the engine VM is started by the HA agent, never paused: put the cluster in global maintenance (he-ha maintenance --mode global), start it with `he-ha vm start`, then pause it with `virsh -c <libvirt_uri> suspend <vmid>` if you need it paused",
  "--add-console-password":
    "he-ha sets no graphics passwords (that was VDSM's setTicket): use the serial console (`he-ha console`), or set one with `virsh -c <libvirt_uri> domdisplay` / `update-device` on the engine VM",
  "--deploy":
    "deployment is not part of he-ha: use `hosted-engine --deploy` (ovirt-hosted-engine-setup) or contrib/ansible/deploy.yml",
  "--upgrade-appliance": "use ovirt-hosted-engine-setup's `hosted-engine --upgrade-appliance`",
};

/** The first hosted-engine verb of argv that he-ha does not implement, if any. */
export function unsupportedVerb(argv: readonly string[]): string | undefined {
  const first = argv.find((a) => !a.startsWith("-") || a.split("=")[0]! in UNSUPPORTED);
  const verb = first?.split("=")[0];
  return verb !== undefined && verb in UNSUPPORTED ? verb : undefined;
}

/** The `--help` section listing the hosted-engine spellings and what they run. */
export function aliasHelp(): string {
  const rows = Object.entries(ALIASES).map(
    ([spelling, a]) =>
      `  ${spelling.padEnd(26)}he-ha ${a.words.join(" ")}${
        a.options
          ? ` (${Object.entries(a.options)
              .map(([from, to]) => `${from} = ${to}`)
              .join(", ")})`
          : ""
      }`,
  );
  const unsupported = Object.keys(UNSUPPORTED).map(
    (spelling) => `  ${spelling.padEnd(26)}not supported: he-ha says what to do instead`,
  );
  return `\nhosted-engine spellings (accepted as the first word):\n${[...rows, ...unsupported].join("\n")}\n`;
}

export const ALIAS_SPELLINGS: readonly string[] = Object.keys(ALIASES);

/** Rewrites hosted-engine argv into he-ha argv; anything else is returned unchanged. */
export function rewriteAliases(argv: readonly string[]): string[] {
  const at = argv.findIndex((a) => !a.startsWith("-") || a in ALIASES);
  const alias = at >= 0 ? ALIASES[argv[at]!] : undefined;
  if (!alias) return [...argv];
  const rest = [...argv.slice(0, at), ...argv.slice(at + 1)].map((a) => {
    const [name, ...value] = a.split("=");
    const renamed = alias.options?.[name!];
    if (!renamed) return a;
    return value.length > 0 ? `${renamed}=${value.join("=")}` : renamed;
  });
  return [...alias.words, ...rest];
}
