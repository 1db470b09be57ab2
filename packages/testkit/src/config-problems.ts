import { ConfigError } from '@runway-relay/contracts';

/**
 * The problems a config loader reports for an environment (`[]` when it loads): the config
 * tests assert on them whole. Anything but a {@link ConfigError} is thrown on.
 */
export function configProblems(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
