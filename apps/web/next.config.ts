import type { NextConfig } from 'next';

// The `/api/*` -> API rewrite lives in proxy.ts, not in `rewrites()`: config rewrites are frozen into
// .next/routes-manifest.json at build time, so a build made with one API_URL would keep calling it after
// being started with another. proxy.ts reads API_URL when the server runs.
const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
};

export default nextConfig;
