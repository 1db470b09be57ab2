/** One node as the cluster reports it. */
export interface ClusterNodeView {
  port: number;
  role: 'master' | 'replica';
  /** Port of its master, for a replica. */
  masterPort?: number;
  /** Slot ranges it serves, for a master. */
  slots: Array<[number, number]>;
}

/** Parses `CLUSTER NODES` (one line per node: id addr flags master-id … link-state slots…). */
export function parseClusterNodes(text: string): ClusterNodeView[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const portOf = new Map<string, number>();
  const rows = lines.map((line) => line.split(' '));
  for (const [id, address] of rows) portOf.set(id ?? '', Number((address ?? '').split('@')[0]?.split(':').pop()));
  return rows
    .filter(([, , flags]) => !(flags ?? '').split(',').some((flag) => flag === 'fail' || flag === 'noaddr'))
    .map(([id, , flags, masterId, , , , , ...slots]) => {
      const isMaster = (flags ?? '').split(',').includes('master');
      const ranges = slots
        .filter((slot) => !slot.startsWith('['))
        .map((slot): [number, number] => {
          const [from, to] = slot.split('-').map(Number);
          return [from ?? 0, to ?? from ?? 0];
        });
      return {
        port: portOf.get(id ?? '') ?? 0,
        role: isMaster ? 'master' : 'replica',
        ...(isMaster ? {} : { masterPort: portOf.get(masterId ?? '') }),
        slots: isMaster ? ranges : [],
      };
    });
}
