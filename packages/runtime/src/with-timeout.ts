/**
 * `work`, or a rejection `no answer within <ms> ms` once `ms` have passed. The work itself is
 * not cancelled: it is left to its own timeouts (readiness checks and store pings use this).
 */
export async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
