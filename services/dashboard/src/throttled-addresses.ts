/** Addresses currently refused for failed logins, with when their block ends. */
export interface ThrottledAddresses {
  /** Records that `address` is refused for the next `ms`. */
  mark(address: string, ms: number): void;
  /** True while `address` is refused. */
  has(address: string): boolean;
}

/**
 * A bounded record of throttled addresses, read by the request logger so that a refused
 * address's flood writes no per-request lines. At most `maxEntries` are kept (the oldest
 * goes first): the record must not grow with an attacker's address count.
 */
export function createThrottledAddresses(maxEntries = 10_000, now: () => number = Date.now): ThrottledAddresses {
  const until = new Map<string, number>();
  return {
    mark(address, ms) {
      until.delete(address);
      until.set(address, now() + ms);
      if (until.size > maxEntries) until.delete(until.keys().next().value as string);
    },
    has(address) {
      const end = until.get(address);
      if (end === undefined) return false;
      if (end > now()) return true;
      until.delete(address);
      return false;
    },
  };
}
