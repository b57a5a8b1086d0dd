import type { NextConfig } from 'next';

/**
 * Sent with every page. frame-ancestors 'none' (and X-Frame-Options for old browsers): no other site may frame the
 * dashboard to trick a click. Scripts and styles only from this origin; 'unsafe-inline' stays because Next's
 * App Router inlines its hydration data as scripts and charts set inline styles (per-request nonces would make
 * every page dynamic). connect-src 'self': the browser talks to the API only through /api on this origin.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

// The `/api/*` -> API forwarding lives in app/api/[...path]/route.ts, not in `rewrites()`: config rewrites are
// frozen into .next/routes-manifest.json at build time, so a build made with one API_URL would keep calling it
// after being started with another; the route handler reads API_URL when the server runs.
const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'Content-Security-Policy', value: CSP },
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'same-origin' },
        ],
      },
    ];
  },
};

export default nextConfig;
