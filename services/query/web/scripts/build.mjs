// Builds the dashboard into dist/ (or --out DIR): Connect-ES code from
// proto/ by buf, the map's shapes, a type check, one minified bundle and
// stylesheet by esbuild, the page, and a gzipped copy of each (what
// skills-query sends). Fails when the gzipped total passes the budget.
//
//   node scripts/build.mjs [--out DIR]

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { writeShapes } from "./shapes.mjs";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const BUDGET_GZIP_BYTES = 300 * 1024;
const outArg = process.argv.indexOf("--out");
const out = outArg > 0 ? process.argv[outArg + 1] : join(web, "dist");
const bin = (name) => join(web, "node_modules", ".bin", name);
const run = (command, args) => execFileSync(command, args, { cwd: web, stdio: "inherit" });

rmSync(join(web, "src/gen"), { recursive: true, force: true });
run(bin("buf"), ["generate", "--template", "buf.gen.yaml"]);
writeShapes();
run(bin("tsc"), ["--noEmit", "-p", "tsconfig.json"]);

mkdirSync(out, { recursive: true });
const common = { bundle: true, minify: true, legalComments: "none", logLevel: "warning", charset: "utf8" };
await build({
  ...common,
  entryPoints: [join(web, "src/main.ts")],
  outfile: join(out, "dashboard.js"),
  format: "iife",
  target: ["es2020"],
});
await build({ ...common, entryPoints: [join(web, "src/dashboard.css")], outfile: join(out, "dashboard.css") });
copyFileSync(join(web, "src/index.html"), join(out, "index.html"));

let total = 0;
const rows = [];
for (const file of ["index.html", "dashboard.js", "dashboard.css"]) {
  const plain = readFileSync(join(out, file));
  // Level 9 and no name or time in the header: the same bytes each build.
  const packed = gzipSync(plain, { level: 9 });
  writeFileSync(join(out, `${file}.gz`), packed);
  total += packed.length;
  rows.push(`  ${file.padEnd(14)} ${String(plain.length).padStart(8)} B  ${String(packed.length).padStart(7)} B gzipped`);
}
console.log(`dashboard built into ${out}:\n${rows.join("\n")}`);
const ratio = total / BUDGET_GZIP_BYTES;
console.log(`  total gzipped  ${total} B of the ${BUDGET_GZIP_BYTES} B budget (${ratio.toFixed(2)} of it)`);
if (total > BUDGET_GZIP_BYTES) {
  console.error("the dashboard is over its size budget (300 kB gzipped)");
  process.exit(1);
}
