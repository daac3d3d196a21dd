// Builds the SDK: client/dist/index.js (ESM, minified, for npm) with its type declarations, and
// a copy served with the demo page (client/public/demo/sdk.js); copies the docs UI into
// client/public/docs-ui/. Prints the SDK's minified and gzipped sizes.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = new URL(".", import.meta.url).pathname;
// A fresh dist/: no declaration of a module that no longer exists is packed.
rmSync(`${here}dist`, { recursive: true, force: true });
await build({
  entryPoints: [`${here}src/index.ts`],
  outfile: `${here}dist/index.js`,
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  sourcemap: true,
  logLevel: "warning",
});
// The published types: one .d.ts per module of src/, self-contained (the wire types are the SDK's
// own), without the members marked @internal.
execFileSync(
  process.execPath,
  [
    `${here}../node_modules/typescript/bin/tsc`,
    ...["-p", here, "--noEmit", "false", "--declaration", "--emitDeclarationOnly", "--stripInternal"],
    ...["--rootDir", `${here}src`, "--outDir", `${here}dist`],
  ],
  { stdio: "inherit" },
);
mkdirSync(`${here}public/demo`, { recursive: true });
copyFileSync(`${here}dist/index.js`, `${here}public/demo/sdk.js`);
// The /docs page's UI, from the pinned swagger-ui-dist (a devDependency), served as static assets
// so the page needs no CDN. Its licence and notice travel with it (Apache-2.0).
const docsUi = `${here}../node_modules/swagger-ui-dist/`;
mkdirSync(`${here}public/docs-ui`, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"]) copyFileSync(`${docsUi}${file}`, `${here}public/docs-ui/${file}`);
// The package carries the repository's licence (npm pack takes LICENSE from client/).
copyFileSync(`${here}../LICENSE`, `${here}LICENSE`);
const code = readFileSync(`${here}dist/index.js`);
console.log(`client SDK: ${(code.length / 1024).toFixed(1)} KiB minified, ${(gzipSync(code).length / 1024).toFixed(1)} KiB gzipped`);
