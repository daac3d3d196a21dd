import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";

/**
 * Global setup of the Workers project: a fake Slack-style incoming webhook on 127.0.0.1. Like
 * Slack's, it takes `POST` with a JSON body that has a `text` string and answers `ok`; anything
 * else is a 400 (`invalid_payload`), as Slack answers. Each test posts to its own path
 * (`/hooks/<uuid>`) and reads what arrived with `GET /hooks/<uuid>`; a path starting
 * `/hooks/down-` answers 503, the way an unavailable webhook does.
 */
export default async function setup(project: TestProject) {
  const received = new Map<string, unknown[]>();
  const server = createServer((request, response) => {
    const path = request.url ?? "";
    if (!path.startsWith("/hooks/")) return void response.writeHead(404).end();
    if (request.method === "GET") return void response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(received.get(path) ?? []));
    let text = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (text += chunk));
    request.on("end", () => {
      if (path.startsWith("/hooks/down-")) return void response.writeHead(503).end("unavailable");
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return void response.writeHead(400).end("invalid_payload");
      }
      if (request.headers["content-type"] !== "application/json" || typeof (body as { text?: unknown }).text !== "string") {
        return void response.writeHead(400).end("invalid_payload");
      }
      received.set(path, [...(received.get(path) ?? []), body]);
      response.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  project.provide("webhookUrl", `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

declare module "vitest" {
  export interface ProvidedContext {
    webhookUrl: string;
  }
}
