import { z } from 'zod';

/**
 * Public (load balancers and probes call it without credentials), so it names the failing checks and nothing
 * else: driver errors carry hostnames, ports and paths. The reasons go to the process's log.
 */
/** Liveness: the process answers. */
export const ZLiveResponse = z.object({ status: z.literal('ok') });

export const ZReadyResponse = z.object({
  ready: z.boolean(),
  checks: z.record(z.string(), z.object({ ok: z.boolean() })),
});
export type TReadyResponse = z.infer<typeof ZReadyResponse>;
