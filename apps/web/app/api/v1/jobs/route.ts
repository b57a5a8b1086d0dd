import { forwardToApi } from '@/lib/forward';

/**
 * Batch job uploads (multipart CSV / JSON Lines, up to the API's MAX_BATCH_INPUT_BYTES) streamed to the API.
 * proxy.ts's matcher leaves this one path out (see lib/forward.ts for why); JSON submissions with an inputUri
 * and the job list (GET) come through here too, because the exclusion is by path. Everything under
 * /api/v1/jobs/..., downloads included, goes through proxy.ts's rewrite, which streams responses.
 */
export const dynamic = 'force-dynamic';

export async function POST(request: Request): Promise<Response> {
  return forwardToApi(request, 'v1/jobs');
}

export async function GET(request: Request): Promise<Response> {
  return forwardToApi(request, 'v1/jobs');
}
