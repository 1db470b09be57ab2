import { z } from 'zod';

const HttpUrl = z.url({ protocol: /^https?$/ }).max(4096);

/**
 * The fields of `POST /api/v1/runway/generate` a caller chooses (the relay sets `callBackUrl`),
 * as the provider documents them. Kept as a plain object so a caller can extend it; check the
 * cross-field rules with {@link refineGenerateRequest}.
 */
export const GenerateFieldsSchema = z.strictObject({
  prompt: z.string().trim().min(1, 'is required').max(1800, 'cannot exceed 1800 characters'),
  imageUrl: HttpUrl.or(z.literal('')).optional(),
  duration: z.union([z.literal(5), z.literal(10)], { error: 'must be 5 or 10' }),
  quality: z.enum(['720p', '1080p']),
  aspectRatio: z.enum(['16:9', '4:3', '1:1', '3:4', '9:16']).optional(),
  waterMark: z.string().max(64).optional(),
});

/** The provider's cross-field rules: a 10 s video cannot be 1080p; text-only needs `aspectRatio`. */
export function refineGenerateRequest(
  body: Pick<z.infer<typeof GenerateFieldsSchema>, 'duration' | 'quality' | 'imageUrl' | 'aspectRatio'>,
  ctx: z.RefinementCtx,
): void {
  if (body.duration === 10 && body.quality === '1080p') {
    ctx.addIssue({ code: 'custom', path: ['quality'], message: '1080p is not available for 10 s videos' });
  }
  if (!body.imageUrl && body.aspectRatio === undefined) {
    ctx.addIssue({ code: 'custom', path: ['aspectRatio'], message: 'is required without imageUrl' });
  }
}

/**
 * The fields of `POST /api/v1/aleph/generate` a caller chooses (video to video: a prompt and the
 * source video are required; the relay sets `callBackUrl`), as the provider documents them.
 */
export const AlephGenerateFieldsSchema = z.strictObject({
  prompt: z.string().trim().min(1, 'is required').max(1800, 'cannot exceed 1800 characters'),
  videoUrl: HttpUrl,
  waterMark: z.string().max(64).optional(),
  uploadCn: z.boolean().optional(),
  aspectRatio: z.enum(['16:9', '9:16', '4:3', '3:4', '1:1', '21:9']).optional(),
  seed: z.number().int().optional(),
  referenceImage: HttpUrl.optional(),
});
