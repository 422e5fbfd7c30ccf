// The choropleth: 18 regions (the overseas ones as framed insets)
// coloured by the 1–5 shortage score, each a link to its region page,
// reachable with Tab and opened with Enter. Colours come from classes
// (dashboard.css: ColorBrewer OrRd, safe for colour-blind readers);
// withheld regions are hatched, regions without a score are grey.

import { SHAPES, VIEW_BOX } from "./gen/shapes.js";
import { t, number } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";

export interface RegionValue {
  code: string;
  name: string;
  score?: number;
  talentGap?: number;
  suppressed: boolean;
  href: string;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string>): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

function stateOf(value: RegionValue): string {
  if (value.suppressed) return "withheld";
  if (value.score === undefined) return "no-data";
  return `score-${value.score}`;
}

/** The map and its legend, drawn into `host`. */
export function renderMap(host: HTMLElement, values: RegionValue[]): void {
  const byCode = new Map(values.map((v) => [v.code, v]));
  const root = svg("svg", { viewBox: VIEW_BOX, class: "map", role: "group", "aria-label": t("mapTitle") });
  const defs = svg("defs", {});
  const hatch = svg("pattern", {
    id: "hatch",
    width: "6",
    height: "6",
    patternUnits: "userSpaceOnUse",
    patternTransform: "rotate(45)",
  });
  hatch.append(svg("rect", { width: "6", height: "6", class: "hatch-ground" }));
  hatch.append(svg("line", { x1: "0", y1: "0", x2: "0", y2: "6", class: "hatch-line" }));
  defs.append(hatch);
  root.append(defs);
  for (const shape of SHAPES) {
    const value = byCode.get(shape.code);
    if (!value) continue;
    if (shape.box) {
      root.append(svg("rect", { ...toAttributes(shape.box), class: "inset" }));
    }
    const state = stateOf(value);
    const described =
      state === "withheld" ? t("withheld") : state === "no-data" ? t("noData") : String(value.score);
    const label =
      value.score !== undefined && !value.suppressed
        ? t("openRegion", { region: value.name, score: value.score })
        : t("openRegionNoScore", { region: value.name, state: described });
    const link = svg("a", { href: value.href, "aria-label": label, "data-region": shape.code, "data-state": state });
    const path = svg("path", { d: shape.d, class: `region ${state}` });
    const title = svg("title", {});
    const gap = value.talentGap !== undefined && !value.suppressed ? ` · ${t("talentGap")} ${number(value.talentGap)}` : "";
    title.textContent = `${value.name}: ${described}${gap}`;
    path.append(title);
    link.append(path);
    root.append(link);
  }
  host.replaceChildren(root, legend());
}

function toAttributes(box: { x: number; y: number; width: number; height: number }): Record<string, string> {
  return { x: String(box.x), y: String(box.y), width: String(box.width), height: String(box.height) };
}

function legend(): HTMLElement {
  const list = document.createElement("ul");
  list.className = "legend";
  list.setAttribute("aria-label", t("legendTitle"));
  const item = (state: string, text: string) => {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch ${state}`;
    swatch.setAttribute("aria-hidden", "true");
    li.append(swatch, document.createTextNode(text));
    list.append(li);
  };
  for (let score = 1; score <= 5; score++) item(`score-${score}`, String(score));
  item("withheld", t("withheld"));
  item("no-data", t("noData"));
  const figure = document.createElement("div");
  const title = document.createElement("p");
  title.className = "legend-title";
  title.textContent = t("legendTitle");
  figure.append(title, list);
  return figure;
}
