// @ts-check
/** @type {import("next").NextConfig} */
const nextConfig = {
  // mysql2 stays a plain Node require on the server instead of being bundled.
  serverExternalPackages: ["mysql2"],
  typedRoutes: false,
};

module.exports = nextConfig;
