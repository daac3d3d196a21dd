import { z } from "zod";
import { configSection, optionalText } from "../platform/config";

/**
 * `DEMO=on` serves the demo page at `/demo/` (development, staging); unset or `off`, `/demo/`
 * answers 404 like any unknown path, so a production deploy never shows it by accident.
 */
const DemoSection = z
  .object({ DEMO: optionalText.pipe(z.enum(["on", "off"], { error: "must be on or off" }).optional()) })
  .transform((env) => ({ enabled: env.DEMO === "on" }));

export const demoConfig = configSection("demo", DemoSection);
