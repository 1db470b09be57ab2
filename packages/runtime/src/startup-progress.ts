/**
 * What a starting service is waiting for, for `/readyz`: its ops listener answers before the
 * dependencies do, and reports the step under way (`start: "waiting for redis"`) until the
 * service runs.
 */
export interface StartupProgress {
  /** The step under way, or `undefined` once the service runs. */
  pending(): string | undefined;
  step(description: string): void;
  done(): void;
}

export function createStartupProgress(first = 'not started'): StartupProgress {
  let current: string | undefined = first;
  return {
    pending: () => current,
    step: (description) => {
      current = description;
    },
    done: () => {
      current = undefined;
    },
  };
}
