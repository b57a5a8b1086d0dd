import { forwardToApi } from '@/lib/forward';

/**
 * The browser's only way to the API: /api/v<N>/... on this origin, so the session cookie the API sets (HttpOnly,
 * Path=/) lands here. Every method streams through lib/forward.ts, uploads (up to the API's MAX_UPLOAD_BYTES and
 * MAX_BATCH_INPUT_BYTES) and downloads included. server.mjs has already turned away any other /api path.
 */
export const dynamic = 'force-dynamic';

export const GET = forwardToApi;
export const HEAD = forwardToApi;
export const POST = forwardToApi;
export const PUT = forwardToApi;
export const PATCH = forwardToApi;
export const DELETE = forwardToApi;
