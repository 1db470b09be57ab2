import type { TaskRegistry } from '@runway-relay/admission';
import type { TaskLabels } from '@runway-relay/contracts';
import type { Logger } from '@runway-relay/runtime';

/**
 * The labels registered with a task (docs/reconciliation.md), as the optional `metadata` of its
 * outcome event; nothing for a task registered without labels or never registered. A registry
 * that cannot be read costs the event its labels, never the outcome: the error is logged.
 */
export async function registeredLabels(
  registry: Pick<TaskRegistry, 'get'> | undefined,
  taskId: string,
  log: Logger,
): Promise<{ metadata?: TaskLabels }> {
  if (!registry) return {};
  try {
    const registered = await registry.get(taskId);
    if (!registered || Object.keys(registered.metadata).length === 0) return {};
    return { metadata: registered.metadata };
  } catch (error) {
    log.warn({ err: error, task_id: taskId }, 'registered labels unreadable: outcome event sent without them');
    return {};
  }
}
