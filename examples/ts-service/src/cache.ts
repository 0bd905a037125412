// A record cache with the classic leak: every request adds an entry and nothing evicts one.

export class CustomerRecord {
  constructor(
    readonly id: string,
    readonly path: string,
    readonly createdAt: number,
    readonly tags: string[],
    readonly payload: { name: string; score: number },
  ) {}
}

export class RecordCache {
  private readonly records = new Map<string, CustomerRecord>();

  remember(path: string, seq: number): CustomerRecord {
    const record = new CustomerRecord(
      `${path}#${seq}`,
      path,
      Date.now(),
      ['fresh', `n${seq % 7}`],
      { name: `customer-${seq}`, score: seq * 3 },
    );
    this.records.set(record.id, record);
    return record;
  }

  get size(): number {
    return this.records.size;
  }
}
