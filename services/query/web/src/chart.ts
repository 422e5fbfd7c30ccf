// A line chart of one measure over months: the line breaks where a month
// is withheld or undefined (nothing is drawn that was not served). The
// table under it gives the same values to screen readers and as CSV.

import { number, t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const [WIDTH, HEIGHT] = [640, 220];
const MARGIN = { left: 56, right: 28, top: 12, bottom: 28 };

export interface Point {
  label: string;
  value?: number;
  withheld: boolean;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string>): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  return element;
}

export function renderLineChart(host: HTMLElement, title: string, points: Point[]): void {
  const values = points.flatMap((p) => (p.value === undefined ? [] : [p.value]));
  const low = Math.min(0, ...values);
  const high = Math.max(1, ...values);
  const x = (i: number) => MARGIN.left + (i * (WIDTH - MARGIN.left - MARGIN.right)) / Math.max(1, points.length - 1);
  const y = (v: number) => MARGIN.top + ((high - v) * (HEIGHT - MARGIN.top - MARGIN.bottom)) / (high - low || 1);
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart", role: "img", "aria-label": title });
  for (const tick of [low, (low + high) / 2, high]) {
    root.append(svg("line", { x1: String(MARGIN.left), x2: String(WIDTH - MARGIN.right), y1: String(y(tick)), y2: String(y(tick)), class: "grid" }));
    const label = svg("text", { x: String(MARGIN.left - 6), y: String(y(tick) + 4), class: "tick", "text-anchor": "end" });
    label.textContent = number(tick, 0);
    root.append(label);
  }
  points.forEach((point, i) => {
    if (i % 3 !== 0 && i !== points.length - 1) return;
    const label = svg("text", { x: String(x(i)), y: String(HEIGHT - 8), class: "tick", "text-anchor": "middle" });
    label.textContent = point.label;
    root.append(label);
  });
  // One polyline per run of months with a value.
  let run: string[] = [];
  const flush = () => {
    if (run.length > 1) root.append(svg("polyline", { points: run.join(" "), class: "line" }));
    run = [];
  };
  points.forEach((point, i) => {
    if (point.value === undefined) {
      flush();
      if (point.withheld) {
        const mark = svg("text", { x: String(x(i)), y: String(HEIGHT - MARGIN.bottom - 4), class: "withheld-mark", "text-anchor": "middle" });
        mark.textContent = "×";
        const tip = svg("title", {});
        tip.textContent = `${point.label}: ${t("withheld")}`;
        mark.append(tip);
        root.append(mark);
      }
      return;
    }
    run.push(`${x(i).toFixed(1)},${y(point.value).toFixed(1)}`);
    const dot = svg("circle", { cx: x(i).toFixed(1), cy: y(point.value).toFixed(1), r: "2.5", class: "dot" });
    const tip = svg("title", {});
    tip.textContent = `${point.label}: ${number(point.value)}`;
    dot.append(tip);
    root.append(dot);
  });
  flush();
  host.replaceChildren(root);
}
