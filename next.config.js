// @ts-check
/** @type {import("next").NextConfig} */
const nextConfig = {
  // mysql2 and pino stay plain Node requires on the server instead of being bundled.
  serverExternalPackages: ["mysql2", "pino"],
  typedRoutes: false,
  // No "X-Powered-By: Next.js": it tells a prober what to try.
  poweredByHeader: false,
};

module.exports = nextConfig;
