// A record cache with the classic leak: every request adds an entry and nothing evicts one.

export interface CustomerRecord {
  id: string;
  path: string;
  createdAt: number;
  tags: string[];
  payload: { name: string; score: number };
}

export class RecordCache {
  private readonly records = new Map<string, CustomerRecord>();

  remember(path: string, seq: number): CustomerRecord {
    const record: CustomerRecord = {
      id: `${path}#${seq}`,
      path,
      createdAt: Date.now(),
      tags: ['fresh', `n${seq % 7}`],
      payload: { name: `customer-${seq}`, score: seq * 3 },
    };
    this.records.set(record.id, record);
    return record;
  }

  get size(): number {
    return this.records.size;
  }
}
