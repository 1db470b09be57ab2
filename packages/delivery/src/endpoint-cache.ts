import type { Endpoint } from './endpoint.schema.js';
import type { EndpointStore } from './endpoint-store.js';

export interface EndpointCache {
  /** The endpoint list as of this call: cached while the store's version is the one it was read at. */
  current(): Promise<readonly Endpoint[]>;
}

/**
 * The endpoint list for the fan-out, which needs it for every event: one GET of the store's
 * version per call instead of the list's 1 + N reads; the list is read again only when the
 * version changed. Every change replaces the version in its own transaction, so a change
 * acknowledged to its caller (in any process) is seen by every call that starts after it.
 * Calls that find the same new version share one read of the list.
 */
export function createEndpointCache(store: Pick<EndpointStore, 'all' | 'version'>): EndpointCache {
  let cached: { version: string | null; endpoints: readonly Endpoint[] } | undefined;
  let loading: { version: string | null; list: Promise<readonly Endpoint[]> } | undefined;

  return {
    async current() {
      // The version first: a list read after it is at least as new as it. A change landing
      // between the two is in the list and makes the next call read again (never the reverse).
      const version = await store.version();
      if (cached !== undefined && cached.version === version) return cached.endpoints;
      if (loading !== undefined && loading.version === version) return loading.list;
      const list = store.all();
      const load = { version, list };
      loading = load;
      try {
        const endpoints = await list;
        // A newer load may have started meanwhile: only the latest one is kept.
        if (loading === load) {
          cached = { version, endpoints };
          loading = undefined;
        }
        return endpoints;
      } catch (error) {
        if (loading === load) loading = undefined;
        throw error;
      }
    },
  };
}
