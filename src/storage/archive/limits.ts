/**
 * How large shared-storage configuration may grow when read: far above what any real
 * engine writes, far below what a bomb expands to. One home for these figures.
 */
const MiB = 1024 * 1024;

export const INPUT_LIMITS = Object.freeze({
  /** the configuration archive is one 20480-byte record; gzip may not expand past this */
  confArchiveDecompressed: 1 * MiB,
  /** an OVF_STORE tar holds one OVF per VM of the domain (tens of kB each) */
  ovfStoreDecompressed: 32 * MiB,
  /** one member of either archive (an engine's OVF is 20–200 kB) */
  member: 8 * MiB,
  /** an OVF document given to the converter */
  ovf: 8 * MiB,
  /** the longest run of an OVF without markup: one element's text or one tag */
  ovfElement: 1 * MiB,
});

/** "12.0 MiB" */
export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
