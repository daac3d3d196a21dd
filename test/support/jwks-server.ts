import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";
import type { TestProject } from "vitest/node";

/**
 * Global setup of the Workers project: a fake identity provider on 127.0.0.1 that serves a JWKS
 * with one RS256, one ES256 and one Ed25519 public key. The private keys are handed to the tests
 * (through a binding) so they can sign tokens the Worker must accept. No internet involved.
 */
export default async function setup(project: TestProject) {
  const algorithms = ["RS256", "ES256", "EdDSA"] as const;
  const keys = await Promise.all(
    algorithms.map(async (alg) => {
      const pair = await generateKeyPair(alg, { extractable: true, ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}) });
      const kid = `test-${alg.toLowerCase()}`;
      return {
        alg,
        kid,
        publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: "sig" },
        privateJwk: { ...(await exportJWK(pair.privateKey)), kid, alg },
      };
    }),
  );
  const jwks = JSON.stringify({ keys: keys.map((key) => key.publicJwk) });
  const server = createServer((request, response) => {
    if (request.url === "/.well-known/jwks.json") {
      response.writeHead(200, { "content-type": "application/json" }).end(jwks);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  project.provide("jwksUrl", `http://127.0.0.1:${port}/.well-known/jwks.json`);
  project.provide("jwksPrivateKeys", JSON.stringify(keys.map(({ alg, kid, privateJwk }) => ({ alg, kid, privateJwk }))));
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

declare module "vitest" {
  export interface ProvidedContext {
    jwksUrl: string;
    jwksPrivateKeys: string;
  }
}
