// `npm run dev` runs this first: a fresh clone gets a working `.dev.vars` (dev-only values from
// `.dev.vars.example`) so `wrangler dev` starts with zero configuration. An existing file is kept.
import { copyFileSync, existsSync } from "node:fs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("created .dev.vars from .dev.vars.example (development values only)");
}
