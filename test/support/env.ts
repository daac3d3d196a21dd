/**
 * The environment every Workers test runs with: an HS256 secret, two TURN secrets (the first
 * signs), three regions and one extra STUN URL. Values are test-only. Every variable of
 * .dev.vars.example is set here, so a developer's .dev.vars (which the plugin also reads) can
 * never change what the tests see.
 */
export const TEST_ENV = {
  DEV_TOKENS: "off",
  DEMO: "on",
  AUTH_JWT_SECRET: "test-only-hs256-secret-0123456789abcdef0123456789",
  TURN_SECRETS: "74657374746573747465737474657374,70726576696f75737072657669",
  TURN_CREDENTIAL_TTL: "86400",
  TURN_MAX_TTL: "172800",
  STUN_URLS: "stun:stun.example.net:3478",
  CORS_ALLOWED_ORIGINS: "https://app.example.com,https://admin.example.com",
  TURN_POOLS: JSON.stringify([
    {
      region: "eu",
      location: { latitude: 50.11, longitude: 8.68 },
      continents: ["EU", "AF"],
      urls: [
        "turn:turn-eu.example.com:3478?transport=udp",
        "turn:turn-eu.example.com:3478?transport=tcp",
        "turns:turn-eu.example.com:443?transport=tcp",
      ],
    },
    {
      region: "us-east",
      location: { latitude: 39.04, longitude: -77.49 },
      continents: ["NA", "SA"],
      urls: ["turn:turn-use.example.com:3478?transport=udp", "turns:turn-use.example.com:443?transport=tcp"],
    },
    {
      region: "ap-southeast",
      location: { latitude: 1.35, longitude: 103.82 },
      continents: ["AS", "OC"],
      urls: ["turn:turn-apse.example.com:3478?transport=udp", "turns:turn-apse.example.com:443?transport=tcp"],
    },
  ]),
} as const;
