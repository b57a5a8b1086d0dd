import { forwardToApi } from '@/lib/forward';

/**
 * Version uploads (multipart, up to the API's MAX_UPLOAD_BYTES) streamed to the API. proxy.ts's matcher
 * leaves this one path out (see lib/forward.ts for why); GET is here only because the exclusion is by path.
 */
export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ name: string }> };
const apiPath = async (ctx: Context) => `v1/models/${encodeURIComponent((await ctx.params).name)}/versions`;

export async function POST(request: Request, ctx: Context): Promise<Response> {
  return forwardToApi(request, await apiPath(ctx));
}

export async function GET(request: Request, ctx: Context): Promise<Response> {
  return forwardToApi(request, await apiPath(ctx));
}
