// `npm run dev` runs this first: a fresh clone gets a working `.dev.vars` (dev-only values from
// `.dev.vars.example`) so `wrangler dev` starts with zero configuration. An existing file is kept,
// and the example's variables it lacks (added since it was made, e.g. DEMO) are named.
import { copyFileSync, existsSync, readFileSync } from "node:fs";

const names = (file) => new Set([...readFileSync(file, "utf8").matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]));

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.log("created .dev.vars from .dev.vars.example (development values only)");
} else {
  const have = names(".dev.vars");
  const missing = [...names(".dev.vars.example")].filter((name) => !have.has(name));
  if (missing.length) console.log(`.dev.vars lacks ${missing.join(", ")} from .dev.vars.example (e.g. DEMO=on serves /demo/): add them to use those features`);
}
