import { z } from 'zod';

/**
 * A string field that holds JSON (Redis hashes keep objects as text): parsed, then checked
 * against `schema`. Text that is not JSON is an issue of the field, not a thrown SyntaxError.
 */
export const jsonText = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
