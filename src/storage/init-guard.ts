import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { parseVolumeMeta } from "./volume-meta.js";

/** Descriptions hosted-engine gives its own volumes (the original's constants). */
export const HE_VOLUME_DESCRIPTIONS: ReadonlySet<string> = new Set([
  "hosted-engine.metadata",
  "hosted-engine.lockspace",
  "HostedEngineConfigurationImage",
]);

/** A hosted-engine volume found in a domain's images/. */
export interface FoundHeVolume {
  description: string;
  meta: string;
}

export class ExistingHeVolumesError extends Error {
  override name = "ExistingHeVolumesError";
  constructor(
    readonly domain: string,
    readonly found: FoundHeVolume[],
  ) {
    super(
      `${domain} already holds hosted-engine volumes (${found
        .map((f) => `${f.description} in ${f.meta}`)
        .join(
          ", ",
        )}) although ${path.join(domain, "ha_agent")} is missing: refusing to create a second set; restore the ha_agent links to those volumes (or remove them) first`,
    );
  }
}

/** The description of a volume: plain text, or a value of VDSM's JSON description. */
function descriptions(description: string): string[] {
  if (!description.startsWith("{")) return [description];
  try {
    const v = JSON.parse(description) as Record<string, unknown>;
    return Object.values(v).filter((x): x is string => typeof x === "string");
  } catch {
    return [description];
  }
}

async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** Hosted-engine volumes (by their .meta DESCRIPTION) under `<domain>/images`. */
export async function findHeVolumes(domain: string): Promise<FoundHeVolume[]> {
  const out: FoundHeVolume[] = [];
  const images = path.join(domain, "images");
  for (const img of await list(images)) {
    for (const file of await list(path.join(images, img))) {
      if (!file.endsWith(".meta")) continue;
      const meta = path.join(images, img, file);
      const text = await readFile(meta, "utf8").catch(() => "");
      for (const d of descriptions(parseVolumeMeta(text).get("DESCRIPTION") ?? "")) {
        if (HE_VOLUME_DESCRIPTIONS.has(d)) out.push({ description: d, meta });
      }
    }
  }
  return out;
}

/**
 * The pre-check of `storage init`: a domain whose ha_agent/ is missing but whose
 * images/ already hold hosted-engine volumes lost its links, not its data; creating a
 * second set there would split the cluster over two whiteboards and lockspaces. Throws
 * ExistingHeVolumesError naming every such volume; a domain with ha_agent/ is left to
 * init's own "already a hosted-engine domain" check.
 */
export async function refuseOrphanHeVolumes(domain: string): Promise<void> {
  const haAgent = await stat(path.join(domain, "ha_agent")).then(
    () => true,
    () => false,
  );
  if (haAgent) return;
  const found = await findHeVolumes(domain);
  if (found.length > 0) throw new ExistingHeVolumesError(domain, found);
}
