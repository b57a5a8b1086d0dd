import { z } from 'zod';

export const ZReadyResponse = z.object({
  ready: z.boolean(),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), error: z.string().optional() })),
});
export type TReadyResponse = z.infer<typeof ZReadyResponse>;
