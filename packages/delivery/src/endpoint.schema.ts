import { RelayEventSchema, WebhookSecretSchema } from '@runway-relay/contracts';
import { z } from 'zod';
import { MAX_ENDPOINT_URL_LENGTH } from './url-policy.js';

/** The event types an endpoint may subscribe to. */
export const EventTypeSchema = z.enum(RelayEventSchema.options.map((option) => option.shape.type.value));

const EndpointUrlSchema = z.url({ protocol: /^https?$/ }).max(MAX_ENDPOINT_URL_LENGTH);

/**
 * Event types as a create or patch request may name them: each at most once, so the list is
 * never longer than the set of types (a 1 MiB body of repeats would otherwise be stored and
 * read on every fan-out). Stored endpoints are read with the plain array, so one saved before
 * this rule still loads.
 */
const EventTypesInputSchema = z
  .array(EventTypeSchema)
  .max(EventTypeSchema.options.length)
  .refine((types) => new Set(types).size === types.length, 'must not name a type twice');

/** The settings an operator chooses: stored, created (with defaults) and patched alike. */
const SETTINGS = {
  url: EndpointUrlSchema,
  /** Event types delivered; empty: all of them. */
  event_types: z.array(EventTypeSchema),
  enabled: z.boolean(),
  /** Attempts in flight at once for this endpoint, across all worker processes. */
  max_in_flight: z.number().int().min(1).max(1000),
  /** Attempts started per second for this endpoint, across all processes; null: no limit. */
  rate_limit_per_s: z.number().int().min(1).max(10_000).nullable(),
  description: z.string().max(500),
};

/** An endpoint as the store keeps it, secret included. Never returned by an API: see {@link EndpointView}. */
export const EndpointSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  ...SETTINGS,
  secret: WebhookSecretSchema,
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  /** Why it is disabled (an operator, or the endpoint answered 410); null while enabled. */
  disabled_reason: z.string().max(500).nullable(),
  /** `env`: configured by DELIVERY_URL/DELIVERY_SECRET, read-only apart from enabling. */
  source: z.enum(['api', 'env']),
});
export type Endpoint = z.infer<typeof EndpointSchema>;

/** What the store returns to an API: the endpoint with its secret masked (`whsec_…abcd`). */
export type EndpointView = Omit<Endpoint, 'secret'> & { secret_masked: string };

/** Body of a create request. */
export const EndpointCreateSchema = z
  .object({
    url: SETTINGS.url,
    event_types: EventTypesInputSchema.default([]),
    enabled: SETTINGS.enabled.default(true),
    max_in_flight: SETTINGS.max_in_flight.default(10),
    rate_limit_per_s: SETTINGS.rate_limit_per_s.default(null),
    description: SETTINGS.description.default(''),
    /** Optional: a secret of the caller's own; one is generated otherwise. */
    secret: WebhookSecretSchema.optional(),
  })
  .strict();
export type EndpointCreate = z.input<typeof EndpointCreateSchema>;

/** Body of an update request: any subset of the settings. */
export const EndpointPatchSchema = z
  .object({ ...SETTINGS, event_types: EventTypesInputSchema })
  .partial()
  .strict();
export type EndpointPatch = z.infer<typeof EndpointPatchSchema>;
