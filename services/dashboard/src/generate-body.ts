import { type TaskMetadata, TaskMetadataSchema } from '@runway-relay/admission';
import {
  AlephGenerateFieldsSchema,
  type AlephGenerateRequest,
  GenerateFieldsSchema,
  type GenerateRequest,
  refineGenerateRequest,
} from '@runway-relay/provider-client';
import { parseInput } from '@runway-relay/runtime';
import { z } from 'zod';

/** The model a submission goes to: each has its own generate endpoint and body at the provider. */
export type GenerateModel = 'runway' | 'aleph';

/** Read first, on its own, so a refused body is explained against the right model's fields. */
const ModelChoiceSchema = z.object({ model: z.enum(['runway', 'aleph']).default('runway') });

/**
 * `metadata.model` tells the reconciler and the verifier which task-detail endpoint to ask: it
 * must name the model the task is submitted to (a Runway task asked about at Aleph's endpoint
 * would never be found).
 */
function sameModel(model: GenerateModel) {
  return (body: { metadata?: TaskMetadata | undefined }, ctx: z.RefinementCtx) => {
    const named = body.metadata?.model;
    if (named !== undefined && named !== model) {
      ctx.addIssue({
        code: 'custom',
        path: ['metadata', 'model'],
        message: `must be ${model}, the model submitted to`,
      });
    }
  };
}

/** `POST /api/v1/runway/generate`'s fields (the relay sets `callBackUrl`), plus labels kept by the relay. */
const RunwayBodySchema = GenerateFieldsSchema.extend({
  model: z.literal('runway').optional(),
  metadata: TaskMetadataSchema.optional(),
})
  .superRefine(refineGenerateRequest)
  .superRefine(sameModel('runway'));

/** `POST /api/v1/aleph/generate`'s fields (video to video), plus labels kept by the relay. */
const AlephBodySchema = AlephGenerateFieldsSchema.extend({
  model: z.literal('aleph'),
  metadata: TaskMetadataSchema.optional(),
}).superRefine(sameModel('aleph'));

/** A checked submission: what goes to the provider, and the labels the task is registered with. */
export type GenerateSubmission =
  | { model: 'runway'; request: Omit<GenerateRequest, 'callBackUrl'>; metadata: TaskMetadata }
  | { model: 'aleph'; request: Omit<AlephGenerateRequest, 'callBackUrl'>; metadata: TaskMetadata };

/**
 * Parses the body of `POST /api/generate` (400 `invalid_request` naming the fields otherwise).
 * `model` (default `runway`) picks the provider's endpoint and with it the body's shape; an
 * Aleph task is registered with `metadata.model` = `aleph`, so it is polled at Aleph's endpoint.
 */
export function parseGenerateBody(body: unknown): GenerateSubmission {
  const { model } = parseInput(ModelChoiceSchema, body);
  if (model === 'aleph') {
    const { model: _aleph, metadata, ...request } = parseInput(AlephBodySchema, body);
    return { model, request, metadata: { ...metadata, model: 'aleph' } };
  }
  const { model: _runway, metadata, ...request } = parseInput(RunwayBodySchema, body);
  return { model, request, metadata: metadata ?? {} };
}
