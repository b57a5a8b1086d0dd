/** Types for api-path.mjs (plain JavaScript so server.mjs can import it; see there). */
export declare function apiPathOf(rawPath: string): string | null;
export declare function apiTarget(rawPath: string, search: string, baseHref: string): URL | null;
