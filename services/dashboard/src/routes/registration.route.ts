import { TaskMetadataSchema, type TaskRegistry } from '@runway-relay/admission';
import { TaskIdSchema } from '@runway-relay/contracts';
import { type ProviderClient, ProviderError } from '@runway-relay/provider-client';
import { HttpError, parseInput } from '@runway-relay/runtime';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type GenerateSubmission, parseGenerateBody } from '../generate-body.js';
import { operatorOf } from '../operator.js';
import { providerFailureAnswer } from '../provider-answer.js';

const RegisterBodySchema = z.strictObject({ task_id: TaskIdSchema, metadata: TaskMetadataSchema.optional() });

/** Registration bodies are small: labels are bounded (32 × 1 KiB) and a prompt is 1800 characters. */
const BODY_LIMIT = 64 * 1024;

export interface RegistrationRoutesOptions {
  registry: TaskRegistry;
  /** Absent when `PROVIDER_API_KEY` is unset: `POST /api/generate` answers 503. */
  provider: Pick<ProviderClient, 'generate' | 'generateAleph'> | null;
  /** `PUBLIC_CALLBACK_URL`: where the provider sends the callbacks of submitted tasks. */
  callbackUrl: string | undefined;
}

/**
 * The registration API (docs/reconciliation.md): tasks the relay expects a callback for, which
 * the reconciler polls at the provider when the callback does not come.
 *
 * `POST /api/tasks` `{"task_id": "…", "metadata": {…}}`: registers a task submitted elsewhere;
 * 201 `registered: true`, or 200 `registered: false` when it was already (nothing changes).
 *
 * `POST /api/generate` with the provider's generate body (and optional `metadata`): submits it
 * through the provider client with `callBackUrl` = `PUBLIC_CALLBACK_URL`, registers the task id
 * the provider returns and answers 201 `{"task_id": "…"}`. `"model": "aleph"` submits the Aleph
 * model's body to its own endpoint instead (see {@link parseGenerateBody}).
 */
export function registerRegistrationRoutes(app: FastifyInstance, options: RegistrationRoutesOptions): void {
  const { registry } = options;

  app.post('/api/tasks', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const { task_id: taskId, metadata } = parseInput(RegisterBodySchema, request.body ?? {});
    const registered = await registry.register(taskId, metadata ?? {});
    if (registered) {
      request.log.info({ task_id: taskId, operator: operatorOf(request) }, 'task registered for reconciliation');
    }
    return reply.code(registered ? 201 : 200).send({ task_id: taskId, registered });
  });

  app.post('/api/generate', { bodyLimit: BODY_LIMIT }, async (request, reply) => {
    // Configuration first: a request that could never be sent is refused before it is read.
    if (options.callbackUrl === undefined) {
      throw new HttpError(
        503,
        'public_callback_url_unset',
        'PUBLIC_CALLBACK_URL is not set: the provider would not know where to send the callback',
      );
    }
    if (options.provider === null) {
      throw new HttpError(503, 'provider_api_key_unset', 'PROVIDER_API_KEY is not set: the relay cannot submit tasks');
    }
    const submission = parseGenerateBody(request.body ?? {});
    let taskId: string;
    try {
      ({ taskId } = await submit(options.provider, submission, options.callbackUrl));
    } catch (error) {
      if (error instanceof ProviderError) {
        request.log.warn(
          { err: error, kind: error.kind, model: submission.model },
          'generation refused or failed at the provider',
        );
        throw providerFailureAnswer(error);
      }
      throw error;
    }
    try {
      await registry.register(taskId, submission.metadata);
    } catch (error) {
      request.log.error({ err: error, task_id: taskId }, 'task created at the provider but not registered');
      throw new HttpError(
        503,
        'registration_failed',
        `task ${taskId} was created at the provider but could not be registered (Redis): register it with POST /api/tasks`,
        { task_id: taskId },
      );
    }
    request.log.info(
      { task_id: taskId, model: submission.model, operator: operatorOf(request) },
      'task submitted and registered',
    );
    return reply.code(201).send({ task_id: taskId });
  });
}

/** Sends a checked submission to its model's generate endpoint. */
function submit(
  provider: Pick<ProviderClient, 'generate' | 'generateAleph'>,
  submission: GenerateSubmission,
  callBackUrl: string,
): Promise<{ taskId: string }> {
  return submission.model === 'aleph'
    ? provider.generateAleph({ ...submission.request, callBackUrl })
    : provider.generate({ ...submission.request, callBackUrl });
}
