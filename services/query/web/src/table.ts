// Tables with a caption, one CSV download each, and values that say
// whether they are withheld (disclosure control) or undefined.

import { t, number, percent } from "./i18n.js";

/** A value as shown: its text, its raw form (CSV, data-value), its state. */
export interface Shown {
  text: string;
  raw: string;
  state?: "withheld" | "undefined";
}

export const WITHHELD_NOTE_ID = "withheld-note";

function withheld(): Shown {
  return { text: t("withheld"), raw: "", state: "withheld" };
}

function missing(): Shown {
  return { text: "–", raw: "", state: "undefined" };
}

/** A count (uint64 arrives as bigint). */
export function count(value: bigint | undefined, suppressed: boolean): Shown {
  if (value === undefined) return suppressed ? withheld() : missing();
  return { text: number(Number(value), 0), raw: value.toString() };
}

/** A measure to `digits` decimals on screen, exact in the CSV. */
export function measure(value: number | undefined, suppressed: boolean, digits = 1): Shown {
  if (value === undefined) return suppressed ? withheld() : missing();
  return { text: number(value, digits), raw: String(value) };
}

/** A share (0–1) as a percentage on screen. */
export function share(value: number | undefined, suppressed: boolean): Shown {
  if (value === undefined) return suppressed ? withheld() : missing();
  return { text: percent(value), raw: String(value) };
}

export function plain(text: string): Shown {
  return { text, raw: text };
}

export interface Column<R> {
  /** The CSV header: the API's field name. */
  csv: string;
  label: string;
  value: (row: R) => Shown;
  numeric?: boolean;
  /** A link for the value (the region's page). */
  href?: (row: R) => string;
}

export interface TableSpec<R> {
  id: string;
  caption: string;
  columns: Column<R>[];
  rows: R[];
  csvName: string;
}

function quote(field: string): string {
  const risky = /^[=+\-@\t\r]/.test(field) && Number.isNaN(Number(field));
  const text = risky ? `'${field}` : field;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv<R>(spec: TableSpec<R>): string {
  const lines = [spec.columns.map((c) => quote(c.csv)).join(",")];
  for (const row of spec.rows) lines.push(spec.columns.map((c) => quote(c.value(row).raw)).join(","));
  return lines.join("\r\n") + "\r\n";
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A cell's content: a link, a withheld mark with its reason, or text. */
function content<R>(column: Column<R>, row: R, shown: Shown): Node {
  if (shown.state === "withheld") {
    const mark = document.createElement("span");
    mark.className = "withheld";
    mark.textContent = shown.text;
    mark.setAttribute("aria-describedby", WITHHELD_NOTE_ID);
    return mark;
  }
  if (column.href) {
    const link = document.createElement("a");
    link.href = column.href(row);
    link.textContent = shown.text;
    return link;
  }
  return document.createTextNode(shown.text);
}

/** Replaces `host`'s content with the table and its CSV button. */
export function renderTable<R>(host: HTMLElement, spec: TableSpec<R>): void {
  const table = document.createElement("table");
  table.id = spec.id;
  const caption = table.createCaption();
  caption.textContent = spec.caption;
  const head = table.createTHead().insertRow();
  for (const column of spec.columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = column.label;
    if (column.numeric) th.className = "num";
    head.append(th);
  }
  const body = table.createTBody();
  for (const row of spec.rows) {
    const tr = body.insertRow();
    spec.columns.forEach((column, index) => {
      const shown = column.value(row);
      const cell = document.createElement(index === 0 ? "th" : "td");
      if (index === 0) cell.setAttribute("scope", "row");
      cell.dataset.field = column.csv;
      cell.dataset.value = shown.state === "withheld" ? "withheld" : shown.raw;
      if (column.numeric) cell.classList.add("num");
      if (shown.state) cell.classList.add(shown.state);
      cell.append(content(column, row, shown));
      tr.append(cell);
    });
  }
  const button = document.createElement("button");
  button.type = "button";
  button.className = "csv";
  button.textContent = t("downloadCsv");
  button.setAttribute("aria-label", `${t("downloadCsv")}: ${spec.caption}`);
  button.addEventListener("click", () => download(spec.csvName, toCsv(spec)));
  const scroller = document.createElement("div");
  scroller.className = "scroll";
  scroller.tabIndex = 0;
  scroller.setAttribute("role", "region");
  scroller.setAttribute("aria-label", spec.caption);
  scroller.append(table);
  host.replaceChildren(scroller, button);
}
