// The two views: the overview (map, every region for the chosen skill,
// the ranking) and a region's page (every skill, inclusion, the 24-month
// trend). Each section states the as-of time and completeness of the
// answer it shows.

import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Api } from "./api.js";
import { renderLineChart } from "./chart.js";
import { groupName, t, dateTime } from "./i18n.js";
import { renderMap } from "./map.js";
import { renderTable, count, measure, share, plain, type Column } from "./table.js";
import { RankBy, type CellIndicators, type ResponseMeta } from "./gen/skills/v1/talent_gap_pb.js";

export interface Reference {
  regions: Map<string, string>;
  skills: Map<string, string>;
}

export interface Context {
  api: Api;
  reference: Reference;
  period: string;
  skill: string;
  /** A link to a region's page keeping the period, skill and language. */
  regionHref: (code: string) => string;
  /** The suppression threshold of the answers on screen, for the note. */
  onMeta: (meta: ResponseMeta | undefined) => void;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** "Data as of …, complete · 3 withheld cells (k = 5)". */
export function metaLine(meta: ResponseMeta | undefined): HTMLElement {
  const line = element("p", "meta");
  if (!meta) return line;
  const parts = [];
  if (meta.asOf) parts.push(t("asOf", { time: dateTime(timestampDate(meta.asOf)) }));
  parts.push(meta.complete ? t("complete") : t("incomplete"));
  if (meta.suppressedCells > 0) parts.push(t("withheldCount", { n: meta.suppressedCells, k: meta.suppressionK }));
  line.textContent = `${meta.period} · ${parts.join(" · ")}`;
  line.dataset.complete = String(meta.complete);
  if (meta.asOf) line.dataset.asOf = timestampDate(meta.asOf).toISOString();
  return line;
}

function section(id: string, heading: string): { root: HTMLElement; body: HTMLElement } {
  const root = element("section");
  root.id = id;
  root.setAttribute("aria-labelledby", `${id}-title`);
  const title = element("h2", undefined, heading);
  title.id = `${id}-title`;
  const body = element("div");
  root.append(title, body);
  return { root, body };
}

/** The columns every table of cells shares, after its first. */
function indicatorColumns(): Column<CellIndicators>[] {
  return [
    { csv: "shortage_score", label: t("score"), numeric: true, value: (c) => measure(c.shortageScore, c.suppressed, 0) },
    { csv: "talent_gap", label: t("talentGap"), numeric: true, value: (c) => measure(c.talentGap, c.suppressed) },
    { csv: "shortage_ratio", label: t("shortageRatio"), numeric: true, value: (c) => measure(c.shortageRatio, c.suppressed, 2) },
    { csv: "openings", label: t("openings"), numeric: true, value: (c) => count(c.openings, false) },
    { csv: "learners", label: t("learners"), numeric: true, value: (c) => count(c.learners, c.suppressed) },
    { csv: "certified", label: t("certified"), numeric: true, value: (c) => count(c.certified, c.suppressed) },
    { csv: "pipeline", label: t("pipeline"), numeric: true, value: (c) => measure(c.pipeline, c.suppressed) },
  ];
}

export async function overview(host: HTMLElement, context: Context): Promise<void> {
  const { api, reference, period, skill } = context;
  const [across, ranking] = await Promise.all([
    api.getSkillAcrossRegions({ skill, period }),
    api.rankShortages({ period, rankBy: RankBy.TALENT_GAP, top: 20 }),
  ]);
  context.onMeta(across.meta);
  const skillName = `${skill} ${reference.skills.get(skill) ?? ""}`.trim();
  const map = section("map", `${t("mapTitle")}: ${skillName}`);
  const help = element("p", "help", t("mapHelp"));
  const figure = element("div", "map-figure");
  renderMap(
    figure,
    across.cells.map((cell) => ({
      code: cell.region,
      name: reference.regions.get(cell.region) ?? cell.region,
      score: cell.shortageScore,
      talentGap: cell.talentGap,
      suppressed: cell.suppressed,
      href: context.regionHref(cell.region),
    })),
  );
  map.body.append(metaLine(across.meta), help, figure);

  const regions = section("regions", `${t("regionsTitle")} (${skillName})`);
  const regionTable = element("div");
  renderTable(regionTable, {
    id: "regions-table",
    caption: `${t("regionsTitle")}: ${skillName}, ${period}`,
    csvName: `regions-${skill}-${period}.csv`,
    rows: across.cells,
    columns: [
      {
        csv: "region_name",
        label: t("region"),
        value: (c) => plain(reference.regions.get(c.region) ?? c.region),
        href: (c) => context.regionHref(c.region),
      },
      { csv: "region", label: t("regionCode"), value: (c) => plain(c.region) },
      ...indicatorColumns(),
    ],
  });
  regions.body.append(metaLine(across.meta), regionTable);

  const ranked = section("ranking", t("rankingTitle"));
  const rankingTable = element("div");
  renderTable(rankingTable, {
    id: "ranking-table",
    caption: `${t("rankingTitle")}, ${period}`,
    csvName: `ranking-${period}.csv`,
    rows: ranking.cells,
    columns: [
      { csv: "rank", label: t("rank"), numeric: true, value: (c) => plain(String(ranking.cells.indexOf(c) + 1)) },
      {
        csv: "region_name",
        label: t("region"),
        value: (c) => plain(reference.regions.get(c.region) ?? c.region),
        href: (c) => context.regionHref(c.region),
      },
      { csv: "region", label: t("regionCode"), value: (c) => plain(c.region) },
      { csv: "skill", label: t("skillCode"), value: (c) => plain(c.skill) },
      { csv: "skill_name", label: t("skill"), value: (c) => plain(reference.skills.get(c.skill) ?? c.skill) },
      ...indicatorColumns(),
    ],
  });
  ranked.body.append(metaLine(ranking.meta), rankingTable);
  host.replaceChildren(map.root, regions.root, ranked.root);
}

/** The last month of a period and the 23 before it ("2025" → 2024-01..2025-12). */
export function trendMonths(period: string): { from: string; to: string } {
  const year = Number(period.slice(0, 4));
  let month = 12;
  const quarter = /^\d{4}-Q([1-4])$/i.exec(period);
  const single = /^\d{4}-(\d{2})$/.exec(period);
  if (quarter) month = Number(quarter[1]) * 3;
  if (single) month = Number(single[1]);
  const index = year * 12 + (month - 1) - 23;
  const from = `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}`;
  return { from, to: `${year}-${String(month).padStart(2, "0")}` };
}

export async function regionPage(host: HTMLElement, context: Context, region: string): Promise<void> {
  const { api, reference, period, skill } = context;
  const months = trendMonths(period);
  const [indicators, inclusion, trend] = await Promise.all([
    api.getRegionIndicators({ region, period }),
    api.getInclusion({ region, period }),
    api.getTrend({ region, skill, from: months.from, to: months.to }),
  ]);
  context.onMeta(indicators.meta);
  const name = indicators.regionName || region;
  const back = element("a", "back", `← ${t("back")}`);
  back.href = context.regionHref("");

  const skills = section("skills", t("regionPage", { region: name }));
  const skillTable = element("div");
  renderTable(skillTable, {
    id: "skills-table",
    caption: `${t("skillsTable")}: ${name}, ${period}`,
    csvName: `region-${region}-${period}.csv`,
    rows: indicators.cells,
    columns: [
      { csv: "skill", label: t("skillCode"), value: (c) => plain(c.skill) },
      { csv: "skill_name", label: t("skill"), value: (c) => plain(reference.skills.get(c.skill) ?? c.skill) },
      ...indicatorColumns().slice(0, 4),
      { csv: "learners", label: t("learners"), numeric: true, value: (c) => count(c.learners, c.suppressed) },
      { csv: "enrolled", label: t("enrolled"), numeric: true, value: (c) => count(c.enrolled, c.suppressed) },
      { csv: "completed", label: t("completed"), numeric: true, value: (c) => count(c.completed, c.suppressed) },
      { csv: "certified", label: t("certified"), numeric: true, value: (c) => count(c.certified, c.suppressed) },
      { csv: "completion_rate", label: t("completionRate"), numeric: true, value: (c) => share(c.completionRate, c.suppressed) },
      { csv: "pipeline", label: t("pipeline"), numeric: true, value: (c) => measure(c.pipeline, c.suppressed) },
    ],
  });
  skills.body.append(metaLine(indicators.meta), skillTable);

  const included = section("inclusion", t("inclusionTitle"));
  const inclusionTable = element("div");
  if (inclusion.suppressed) {
    const withheld = element("p", "withheld", t("withheld"));
    withheld.setAttribute("aria-describedby", "withheld-note");
    inclusionTable.append(withheld);
  } else {
    renderTable(inclusionTable, {
      id: "inclusion-table",
      caption: `${t("inclusionTitle")}: ${name}, ${period}`,
      csvName: `inclusion-${region}-${period}.csv`,
      rows: inclusion.shares,
      columns: [
        { csv: "group", label: t("group"), value: (s) => plain(groupName(s.group)) },
        { csv: "share_enrolled", label: t("shareEnrolled"), numeric: true, value: (s) => share(s.shareEnrolled, s.suppressed) },
        { csv: "share_certified", label: t("shareCertified"), numeric: true, value: (s) => share(s.shareCertified, s.suppressed) },
        { csv: "target", label: t("target"), numeric: true, value: (s) => share(s.target, false) },
        {
          csv: "distance_enrolled",
          label: t("distanceEnrolled"),
          numeric: true,
          value: (s) => share(s.distanceEnrolled, s.suppressed),
        },
      ],
    });
  }
  included.body.append(metaLine(inclusion.meta), inclusionTable);

  const skillName = `${skill} ${reference.skills.get(skill) ?? ""}`.trim();
  const trended = section("trend", t("trendTitle", { skill: skillName }));
  const chart = element("div", "chart-box");
  renderLineChart(
    chart,
    t("trendTitle", { skill: skillName }),
    trend.points.map((p) => ({ label: p.period, value: p.talentGap, withheld: p.suppressed })),
  );
  const trendTable = element("div");
  renderTable(trendTable, {
    id: "trend-table",
    caption: `${t("trendTitle", { skill: skillName })}: ${name}`,
    csvName: `trend-${region}-${skill}-${months.from}-${months.to}.csv`,
    rows: trend.points,
    columns: [{ csv: "period", label: t("month"), value: (c) => plain(c.period) }, ...indicatorColumns()],
  });
  trended.body.append(metaLine(trend.meta), chart, trendTable);
  host.replaceChildren(back, skills.root, included.root, trended.root);
}
