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
  "--connect-storage": { words: ["storage", "connect"] },
  "--disconnect-storage": { words: ["storage", "disconnect"] },
};

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
