// Build the Escalation Portal front-end assets into ../portal/static/govuk/.
//
// Equivalent to:
//   sass --load-path=node_modules --style=compressed --no-source-map --quiet-deps \
//     scss/app.scss ../portal/static/govuk/app.min.css
//   cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js{,.map} ../portal/static/govuk/
//
// Deliberately NOT copied: dist/govuk/assets/fonts/* (GDS Transport, licensed
// for GOV.UK only) and dist/govuk/assets/images/* (crown favicons,
// govuk-crest.svg). The portal is not a GOV.UK service.
//
// Idempotent: the output folder is build-only (git-ignored) and is recreated
// from scratch on every run, so no stale or stray files survive.
import { copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const here = dirname(fileURLToPath(import.meta.url));
const nodeModules = join(here, "node_modules");
const govukDist = join(nodeModules, "govuk-frontend", "dist", "govuk");
const outDir = join(here, "..", "portal", "static", "govuk");

const started = Date.now();

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

// 1. Stylesheet
const result = sass.compile(join(here, "scss", "app.scss"), {
  loadPaths: [nodeModules],
  style: "compressed",
  sourceMap: false,
  quietDeps: true,
});
const cssPath = join(outDir, "app.min.css");
// Trailing newline: byte-identical to the sass CLI output.
writeFileSync(cssPath, `${result.css}\n`);

// 2. JavaScript (ES module exposing initAll), plus its source map so that
//    browser dev tools do not request a missing file.
const jsFiles = ["govuk-frontend.min.js", "govuk-frontend.min.js.map"];
for (const name of jsFiles) {
  copyFileSync(join(govukDist, name), join(outDir, name));
}

for (const file of [cssPath, ...jsFiles.map((name) => join(outDir, name))]) {
  const kb = (statSync(file).size / 1024).toFixed(1);
  console.log(`built ${relative(process.cwd(), file)} (${kb} KiB)`);
}
console.log(`done in ${Date.now() - started} ms`);
