import { z } from 'zod';

const HttpUrl = z.url({ protocol: /^https?$/ }).max(4096);
const Prompt = z.string().trim().min(1, 'is required').max(1800, 'cannot exceed 1800 characters');
const Quality = z.enum(['720p', '1080p']);
const AspectRatio = z.enum(['16:9', '4:3', '1:1', '3:4', '9:16']);

/**
 * Body of `POST /api/v1/runway/generate`, checked as the provider documents it: a 10 s video
 * cannot be 1080p, and a text-only request (no `imageUrl`) needs an `aspectRatio`.
 */
export const GenerateBodySchema = z
  .object({
    prompt: Prompt,
    imageUrl: HttpUrl.or(z.literal('')).optional(),
    duration: z.union([z.literal(5), z.literal(10)]),
    quality: Quality,
    aspectRatio: AspectRatio.optional(),
    waterMark: z.string().max(64).optional(),
    callBackUrl: HttpUrl.optional(),
  })
  .superRefine((body, ctx) => {
    if (body.duration === 10 && body.quality === '1080p') {
      ctx.addIssue({ code: 'custom', path: ['quality'], message: '1080p is not available for 10 s videos' });
    }
    if (!body.imageUrl && body.aspectRatio === undefined) {
      ctx.addIssue({ code: 'custom', path: ['aspectRatio'], message: 'is required without imageUrl' });
    }
  });
export type GenerateBody = z.infer<typeof GenerateBodySchema>;

/** Body of `POST /api/v1/runway/extend`. */
export const ExtendBodySchema = z.object({
  taskId: z.string().min(1).max(128),
  prompt: Prompt,
  quality: Quality,
  waterMark: z.string().max(64).optional(),
  callBackUrl: HttpUrl.optional(),
});

/** Body of `POST /api/v1/aleph/generate`. */
export const AlephGenerateBodySchema = z.object({
  prompt: Prompt,
  videoUrl: HttpUrl,
  callBackUrl: HttpUrl.optional(),
  waterMark: z.string().max(64).optional(),
  uploadCn: z.boolean().optional(),
  // Aleph also documents 21:9, which the generate endpoint does not.
  aspectRatio: z.enum(['16:9', '9:16', '4:3', '3:4', '1:1', '21:9']).optional(),
  seed: z.number().int().optional(),
  referenceImage: HttpUrl.optional(),
});

/** The provider's message for a refused body: each failing field and why. */
export function describeBodyIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'body'} ${issue.message}`).join('; ');
}
