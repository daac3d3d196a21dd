import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../platform/errors";
import { bearerSecurity, errorContent, jsonContent, newRouter } from "../platform/http";
import { limitPerUser } from "../platform/request-limits";
import { DeviceIdSchema, DeviceRegistrationSchema, publicDevice, PublicDeviceSchema, type RegistrationPolicy } from "./device";
import { deleteDevice, listDevices, registerDevice } from "./store";

const DeviceParam = z.object({
  deviceId: DeviceIdSchema.openapi({ param: { name: "deviceId", in: "path" }, example: "pixel-8-a1b2" }),
});

const tags = ["Devices"];
const unauthorized = errorContent("Missing or invalid bearer token");
const tooMany = errorContent("Too many device changes by this user (30 a minute); see retry-after");

/**
 * The caller's own push devices (section 5.1), stored in KV by store.ts. `policy` says which apps
 * and push services a registration may name (the push layer knows them).
 */
export const deviceRoutes = (policy: RegistrationPolicy) =>
  newRouter()
  .openapi(
    createRoute({
      method: "put",
      path: "/devices/{deviceId}",
      tags,
      summary: "Register or update a push device (idempotent); a user keeps at most 20, the least recently updated goes",
      security: bearerSecurity,
      middleware: [limitPerUser("deviceWrites")] as const,
      request: {
        params: DeviceParam,
        body: { content: { "application/json": { schema: DeviceRegistrationSchema.openapi("DeviceRegistration") } }, required: true },
      },
      responses: {
        200: jsonContent(PublicDeviceSchema, "Updated"),
        201: jsonContent(PublicDeviceSchema, "Registered"),
        400: errorContent("Bad token or fields"),
        401: unauthorized,
        429: tooMany,
      },
    }),
    async (c) => {
      const { deviceId } = c.req.valid("param");
      const registration = c.req.valid("json");
      const refusal = policy.refusal(c.env, registration);
      if (refusal) {
        const path = `json.${refusal.field}`;
        throw new ApiError("invalid_request", `invalid json: ${path} ${refusal.message}`, { details: { issues: [{ path, message: refusal.message }] } });
      }
      const { device, created } = await registerDevice(c.env, c.var.principal.userId, deviceId, registration, new Date());
      return c.json(publicDevice(device), created ? 201 : 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/devices",
      tags,
      summary: "The caller's devices",
      security: bearerSecurity,
      responses: { 200: jsonContent(z.object({ devices: z.array(PublicDeviceSchema) }), "The devices"), 401: unauthorized },
    }),
    async (c) => {
      const devices = await listDevices(c.env.DEVICES, c.var.principal.userId);
      return c.json({ devices: devices.map(publicDevice) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/devices/{deviceId}",
      tags,
      summary: "Remove a device",
      security: bearerSecurity,
      middleware: [limitPerUser("deviceWrites")] as const,
      request: { params: DeviceParam },
      responses: { 204: { description: "Removed" }, 401: unauthorized, 404: errorContent("No such device"), 429: tooMany },
    }),
    async (c) => {
      const removed = await deleteDevice(c.env, c.var.principal.userId, c.req.valid("param").deviceId);
      if (!removed) throw new ApiError("not_found", "no such device");
      return c.body(null, 204);
    },
  );
