import type { VdsmApi } from "./api.js";

/** What the broker's host monitors ask VDSM on VDSM hosts (VdsmApi has this shape). */
export type VdsmHostSource = Pick<VdsmApi, "hostStats" | "storageRepoStats">;
