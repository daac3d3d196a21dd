import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, errorContent, jsonContent, newRouter } from "../app";
import { ApiError } from "../errors";
import { deleteDevice, DeviceIdSchema, DeviceRegistrationSchema, listDevices, publicDevice, registerDevice } from "./store";

const DeviceSchema = z
  .object({
    deviceId: z.string(),
    provider: z.enum(["fcm", "apns"]),
    platform: z.enum(["android", "ios", "web"]),
    environment: z.enum(["production", "sandbox"]).optional(),
    appId: z.string().optional(),
    tokenSuffix: z.string().openapi({ description: "Last 8 characters of the push token; tokens are never returned in full" }),
    voipTokenSuffix: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Device");

const DeviceParam = z.object({
  deviceId: DeviceIdSchema.openapi({ param: { name: "deviceId", in: "path" }, example: "pixel-8-a1b2" }),
});

const tags = ["Devices"];
const unauthorized = errorContent("Missing or invalid bearer token");

/** The caller's own push devices (section 5.1), stored in KV by store.ts. */
export const deviceRoutes = newRouter()
  .openapi(
    createRoute({
      method: "put",
      path: "/devices/{deviceId}",
      tags,
      summary: "Register or update a push device (idempotent)",
      security: bearerSecurity,
      request: {
        params: DeviceParam,
        body: { content: { "application/json": { schema: DeviceRegistrationSchema.openapi("DeviceRegistration") } }, required: true },
      },
      responses: {
        200: jsonContent(DeviceSchema, "Updated"),
        201: jsonContent(DeviceSchema, "Registered"),
        400: errorContent("Bad token or fields"),
        401: unauthorized,
      },
    }),
    async (c) => {
      const { deviceId } = c.req.valid("param");
      const { device, created } = await registerDevice(c.env.DEVICES, c.var.principal.userId, deviceId, c.req.valid("json"), new Date());
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
      responses: { 200: jsonContent(z.object({ devices: z.array(DeviceSchema) }), "The devices"), 401: unauthorized },
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
      request: { params: DeviceParam },
      responses: { 204: { description: "Removed" }, 401: unauthorized, 404: errorContent("No such device") },
    }),
    async (c) => {
      const removed = await deleteDevice(c.env.DEVICES, c.var.principal.userId, c.req.valid("param").deviceId);
      if (!removed) throw new ApiError("not_found", "no such device");
      return c.body(null, 204);
    },
  );
