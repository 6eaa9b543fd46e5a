/**
 * What VDSM's API schema (vdsm lib/vdsm/api/vdsm-api.yml) says about the verbs we call:
 * each parameter's name, type and whether it has a default (optional). Written from
 * reading the schema, not copied from it. The test server rejects any request that does
 * not fit, as VDSM's schema validation would flag it.
 */
export type ParamType =
  | "uuid"
  | "int"
  | "uint"
  | "boolean"
  | "string"
  | "object"
  | "uuid[]"
  | "object[]"
  | "StorageDomainTypeId";

export interface ParamSpec {
  type: ParamType;
  optional?: boolean;
}

export const VERBS: Record<string, Record<string, ParamSpec>> = {
  "Host.ping2": {},
  "Host.getStats": {},
  "Host.getStorageRepoStats": { domains: { type: "uuid[]", optional: true } },
  "Host.getVMList": {
    fullStatus: { type: "boolean", optional: true },
    vmList: { type: "uuid[]", optional: true },
    onlyUUID: { type: "boolean", optional: true },
  },
  "Host.getAllVmStats": {},
  "Host.startMonitoringDomain": { sdUUID: { type: "uuid" }, hostID: { type: "int" } },
  "Host.stopMonitoringDomain": { sdUUID: { type: "uuid" } },
  "StoragePool.connectStorageServer": {
    storagepoolID: { type: "uuid" },
    domainType: { type: "StorageDomainTypeId" },
    connectionParams: { type: "object[]" },
  },
  // vdsm-api.yml types this domainType as the StorageDomainType name enum (NFS, ISCSI…),
  // but the original sends the integer id here too and VDSM's hsm reads that; kept as
  // the original sends it (vdsm-schema.test.ts shows VDSM's strict schema on both)
  "StoragePool.disconnectStorageServer": {
    storagepoolID: { type: "uuid" },
    domainType: { type: "StorageDomainTypeId" },
    connectionParams: { type: "object[]" },
  },
  "StorageDomain.getStats": { storagedomainID: { type: "uuid" } },
  "StorageDomain.getInfo": { storagedomainID: { type: "uuid" } },
  "StorageDomain.getImages": { storagedomainID: { type: "uuid" } },
  "StorageDomain.getVolumes": {
    storagedomainID: { type: "uuid" },
    storagepoolID: { type: "uuid" },
    imageID: { type: "uuid" },
  },
  "Volume.getInfo": {
    volumeID: { type: "uuid" },
    storagepoolID: { type: "uuid" },
    storagedomainID: { type: "uuid" },
    imageID: { type: "uuid" },
  },
  "Image.prepare": {
    storagepoolID: { type: "uuid" },
    storagedomainID: { type: "uuid" },
    imageID: { type: "uuid" },
    volumeID: { type: "uuid" },
    allowIllegal: { type: "boolean", optional: true },
  },
  "VM.create": { vmID: { type: "uuid" }, vmParams: { type: "object" } },
  "VM.getStats": { vmID: { type: "uuid" } },
  "VM.shutdown": {
    vmID: { type: "uuid" },
    delay: { type: "int", optional: true },
    message: { type: "string", optional: true },
    reboot: { type: "boolean", optional: true },
    timeout: { type: "int", optional: true },
    force: { type: "boolean", optional: true },
  },
  "VM.destroy": { vmID: { type: "uuid" }, gracefulAttempts: { type: "uint", optional: true } },
};

/** StorageDomainTypeId's values */
const DOMAIN_TYPES = new Set([0, 1, 2, 3, 4, 6, 7]);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function fits(t: ParamType, v: unknown): boolean {
  switch (t) {
    case "uuid":
      return typeof v === "string" && UUID_RE.test(v);
    case "int":
      return Number.isInteger(v);
    case "uint":
      return Number.isInteger(v) && (v as number) >= 0;
    case "boolean":
      return typeof v === "boolean";
    case "string":
      return typeof v === "string";
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v);
    case "uuid[]":
      return Array.isArray(v) && v.every((x) => fits("uuid", x));
    case "object[]":
      return Array.isArray(v) && v.every((x) => fits("object", x));
    case "StorageDomainTypeId":
      return Number.isInteger(v) && DOMAIN_TYPES.has(v as number);
  }
}

/** Problems of a request against the schema ([] when it fits). */
export function checkRequest(method: string, params: unknown): string[] {
  const spec = VERBS[method];
  if (!spec) return [`${method}: not a verb the schema expectations cover`];
  if (typeof params !== "object" || params === null || Array.isArray(params))
    return [`${method}: params must be named (an object)`];
  const p = params as Record<string, unknown>;
  const problems: string[] = [];
  for (const [name, s] of Object.entries(spec)) {
    if (!(name in p)) {
      if (!s.optional) problems.push(`${method}: missing ${name}`);
    } else if (!fits(s.type, p[name])) {
      problems.push(`${method}: ${name}=${JSON.stringify(p[name])} is not ${s.type}`);
    }
  }
  for (const name of Object.keys(p))
    if (!(name in spec)) problems.push(`${method}: unknown parameter ${name}`);
  return problems;
}
