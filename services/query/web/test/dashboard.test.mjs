// The dashboard in a real browser against the real all-in-one process:
// Debian's chromium, headless, driven by puppeteer-core (no browser is
// downloaded). The demo is started with a small data set on free ports;
// what the page shows is compared with grpcurl's answers to the same
// calls with the same token.
//
//   SKILLS_BIN=target/debug/skills SKILLS_GRPCURL=… node --test test/
//
// Screenshots and the measured budget go to test-artifacts/.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(web, "../../..");
const ARTIFACTS = process.env.SKILLS_WEB_ARTIFACTS ?? join(web, "test-artifacts");
const BIN = process.env.SKILLS_BIN ?? join(repo, "target/debug/skills");
const GRPCURL = process.env.SKILLS_GRPCURL ?? "grpcurl";
const CHROMIUM = process.env.SKILLS_CHROMIUM ?? "/usr/bin/chromium";
const LEARNERS = process.env.SKILLS_WEB_LEARNERS ?? "3000";
const DEMO_PARTNER = "demo-partner";

let demo;
let dir;
let browser;
let queryAddress;
let gatewayAddress;
let policyToken;
let partnerToken;

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** Starts the demo and waits for the line that prints the dashboard's URL. */
async function startDemo() {
  dir = mkdtempSync(join(tmpdir(), "skills-web-"));
  const [query, gateway] = [await freePort(), await freePort()];
  queryAddress = `127.0.0.1:${query}`;
  gatewayAddress = `127.0.0.1:${gateway}`;
  demo = spawn(BIN, ["demo", "--learners", LEARNERS, "--data-dir", dir, "--listen", queryAddress], {
    env: { ...process.env, SKILLS__GATEWAY__LISTEN: gatewayAddress, RUST_LOG: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (chunk) => (output += chunk);
  demo.stderr.on("data", collect);
  await new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the demo printed no dashboard URL in 600 s:\n${output}`)), 600_000);
    demo.on("exit", (code) => fail(new Error(`the demo exited with ${code}:\n${output}`)));
    demo.stdout.on("data", (chunk) => {
      collect(chunk);
      if (output.includes(`Dashboard: http://${queryAddress}/`)) {
        clearTimeout(timer);
        done();
      }
    });
  });
  policyToken = readFileSync(join(dir, "policy.token"), "utf8").trim();
  partnerToken = readFileSync(join(dir, "partner.token"), "utf8").trim();
}

/** grpcurl's answer (canonical JSON, every field) to one call. */
function grpc(method, body, token) {
  const args = ["-plaintext", "-emit-defaults", "-d", JSON.stringify(body)];
  if (token) args.push("-H", `authorization: Bearer ${token}`);
  args.push(queryAddress, `skills.v1.TalentGapService/${method}`);
  return JSON.parse(execFileSync(GRPCURL, args, { encoding: "utf8" }));
}

/** A page that records console errors and failed requests. */
async function openPage(hash, width = 1280) {
  const page = await browser.newPage();
  const errors = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  await page.setViewport({ width, height: 900 });
  await page.goto(`http://${queryAddress}/${hash}`, { waitUntil: "load" });
  await page.waitForSelector("body[data-rendered]", { timeout: 15_000 });
  return { page, errors };
}

async function shot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
}

/** A table's cells by row and field: { text, value }. */
function readTable(page, id) {
  return page.$$eval(`#${id} tbody tr`, (rows) =>
    rows.map((row) =>
      Object.fromEntries(
        [...row.children].map((cell) => [cell.dataset.field, { text: cell.textContent.trim(), value: cell.dataset.value }]),
      ),
    ),
  );
}

// As the page writes numbers (a value that rounds to zero is "0").
const en = (value, digits = 1) =>
  new Intl.NumberFormat("en-GB", { maximumFractionDigits: digits }).format(
    Math.abs(value) < 0.5 * 10 ** -digits ? 0 : value,
  );

/** One served cell against its row: withheld as withheld, values equal. */
function assertRow(row, cell, where) {
  if (cell.suppressed) {
    for (const field of ["talent_gap", "learners", "certified", "shortage_score"]) {
      assert.equal(row[field].value, "withheld", `${where}: ${field} of a withheld cell`);
      assert.equal(row[field].text, "withheld", `${where}: ${field} reads "withheld"`);
    }
    return;
  }
  const checks = [
    ["talent_gap", cell.talentGap, 1],
    ["shortage_ratio", cell.shortageRatio, 2],
    ["shortage_score", cell.shortageScore, 0],
    ["pipeline", cell.pipeline, 1],
  ];
  for (const [field, expected, digits] of checks) {
    if (expected === undefined || expected === null) {
      assert.equal(row[field].value, "", `${where}: ${field} has no value`);
      continue;
    }
    assert.equal(Number(row[field].value), Number(expected), `${where}: ${field}`);
    assert.equal(row[field].text, en(Number(expected), digits), `${where}: ${field} on screen`);
  }
  for (const [field, expected] of [
    ["learners", cell.learners],
    ["certified", cell.certified],
    ["openings", cell.openings],
  ]) {
    assert.equal(row[field].value, String(expected), `${where}: ${field}`);
    assert.equal(row[field].text, en(Number(expected), 0), `${where}: ${field} on screen`);
  }
}

before(async () => {
  await startDemo();
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  demo?.kill("SIGTERM");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the page loads with no console error and a map of 18 regions", async () => {
  const { page, errors } = await openPage("#/?lang=en");
  assert.equal(await page.$$eval("svg.map a[data-region]", (links) => links.length), 18);
  const codes = await page.$$eval("svg.map a[data-region]", (links) => links.map((l) => l.dataset.region).sort());
  assert.deepEqual(codes, ["01", "02", "03", "04", "06", "11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94"]);
  assert.match(await page.$eval("#map .meta", (p) => p.textContent), /Data as of .* · (complete|incomplete)/);
  await shot(page, "overview-public.png");
  assert.deepEqual(errors, []);
  await page.close();
});

test("the public view shows the public answers, withheld cells as withheld with the reason", async () => {
  const { page, errors } = await openPage("#/?lang=en");
  const [period, skill] = [await page.$eval("#period", (s) => s.value), await page.$eval("#skill", (s) => s.value)];
  const across = grpc("GetSkillAcrossRegions", { skill, period });
  const rows = await readTable(page, "regions-table");
  assert.equal(rows.length, across.cells.length);
  across.cells.forEach((cell, i) => assertRow(rows[i], cell, `public ${cell.region}×${skill}`));
  const withheld = across.cells.filter((c) => c.suppressed).length;
  assert.ok(withheld > 0, "the demo's public view withholds some cells of this skill");
  assert.equal(await page.$$eval('svg.map a[data-state="withheld"]', (a) => a.length), withheld);
  const reason = await page.$eval("#withheld-note", (p) => p.textContent);
  assert.match(reason, new RegExp(`k = ${across.meta.suppressionK}`));
  const described = await page.$$eval("#regions-table span.withheld", (spans) =>
    spans.every((s) => s.getAttribute("aria-describedby") === "withheld-note"),
  );
  assert.ok(described, "every withheld mark points at the reason");

  const ranking = grpc("RankShortages", { period, rankBy: "RANK_BY_TALENT_GAP", top: 20 });
  const ranked = await readTable(page, "ranking-table");
  assert.equal(ranked.length, ranking.cells.length);
  ranking.cells.forEach((cell, i) => {
    assert.equal(ranked[i].skill.text.split(" ")[0], cell.skill);
    assertRow(ranked[i], cell, `ranking #${i + 1}`);
  });
  assert.deepEqual(errors, []);
  await page.close();
});

test("a policy token shows the policy answers, on the map and in the tables", async () => {
  const { page, errors } = await openPage("#/?lang=en");
  await page.type("#token", policyToken);
  await Promise.all([
    page.waitForFunction(() => document.querySelector("#audience")?.textContent === "Token view"),
    page.click("#token-form button[type=submit]"),
  ]);
  await page.waitForFunction(() => !document.querySelector("#main")?.hasAttribute("aria-busy"));
  const [period, skill] = [await page.$eval("#period", (s) => s.value), await page.$eval("#skill", (s) => s.value)];
  const across = grpc("GetSkillAcrossRegions", { skill, period }, policyToken);
  const rows = await readTable(page, "regions-table");
  across.cells.forEach((cell, i) => assertRow(rows[i], cell, `policy ${cell.region}×${skill}`));
  const states = await page.$$eval("svg.map a[data-region]", (links) =>
    Object.fromEntries(links.map((l) => [l.dataset.region, l.dataset.state])),
  );
  for (const cell of across.cells) {
    const expected = cell.suppressed ? "withheld" : cell.shortageScore ? `score-${cell.shortageScore}` : "no-data";
    assert.equal(states[cell.region], expected, `map colour of ${cell.region}`);
  }
  await shot(page, "overview-policy.png");
  assert.equal(await page.evaluate(() => location.hash.includes("skill=")), false, "the default skill stays out of the address");

  // Forgetting the token: the public answers again, nothing of the policy view left.
  await Promise.all([
    page.waitForFunction(() => document.querySelector("#audience")?.textContent === "Public view"),
    page.click("#forget"),
  ]);
  await page.waitForFunction(() => document.querySelector("#regions-table") && !document.querySelector("#main")?.hasAttribute("aria-busy"));
  const publicSkill = await page.$eval("#skill", (s) => s.value);
  const publicAnswer = grpc("GetSkillAcrossRegions", { skill: publicSkill, period });
  const publicRows = await readTable(page, "regions-table");
  publicAnswer.cells.forEach((cell, i) => assertRow(publicRows[i], cell, `after forgetting ${cell.region}`));
  assert.deepEqual(errors, []);
  await page.close();
});

test("the keyboard reaches the map and the table, and Enter opens a region", async () => {
  const { page, errors } = await openPage("#/?lang=en");
  const reached = new Set();
  for (let i = 0; i < 80 && reached.size < 2; i++) {
    await page.keyboard.press("Tab");
    const where = await page.evaluate(() => {
      const active = document.activeElement;
      if (active?.closest("svg.map")) return "map";
      if (active?.closest("#regions-table") || active?.querySelector?.("#regions-table")) return "table";
      return "";
    });
    if (where) reached.add(where);
  }
  assert.deepEqual([...reached].sort(), ["map", "table"]);
  // The skip link moves the focus to the content and keeps the view.
  const hash = await page.evaluate(() => location.hash);
  await page.evaluate(() => document.querySelector("a.skip").focus());
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "main");
  assert.equal(await page.evaluate(() => location.hash), hash);
  // Back to the first region of the map, then Enter.
  await page.evaluate(() => document.querySelector("svg.map a[data-region]").focus());
  const region = await page.evaluate(() => document.activeElement.dataset.region);
  await page.keyboard.press("Enter");
  await page.waitForFunction((code) => location.hash.startsWith(`#/region/${code}`), {}, region);
  await page.waitForSelector("#skills-table");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a region's page: every skill, inclusion and a 24-month trend, equal to gRPC", async () => {
  const { page, errors } = await openPage("#/region/84?lang=fr");
  await page.evaluate((token) => sessionStorage.setItem("skills-dashboard-token", token), policyToken);
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector("body[data-rendered] #skills-table");
  const period = await page.$eval("#period", (s) => s.value);
  const skill = await page.$eval("#skill", (s) => s.value);
  const answer = grpc("GetRegionIndicators", { region: "84", period }, policyToken);
  const rows = await readTable(page, "skills-table");
  assert.equal(rows.length, 21);
  answer.cells.forEach((cell, i) => {
    assert.equal(rows[i].enrolled.value, String(cell.enrolled), `enrolled of ${cell.skill}`);
    assert.equal(Number(rows[i].talent_gap.value || NaN), Number(cell.talentGap ?? NaN), `talent gap of ${cell.skill}`);
  });
  assert.equal(await page.$eval("html", (h) => h.lang), "fr");
  assert.match(await page.$eval("#skills .meta", (p) => p.textContent), /Données au/);
  const trend = await readTable(page, "trend-table");
  assert.equal(trend.length, 24);
  const served = grpc("GetTrend", { region: "84", skill, from: trend[0].period.value, to: trend[23].period.value }, policyToken);
  served.points.forEach((point, i) => {
    assert.equal(trend[i].period.value, point.period);
    assert.equal(Number(trend[i].talent_gap.value || NaN), Number(point.talentGap ?? NaN), `trend ${point.period}`);
  });
  const inclusion = grpc("GetInclusion", { region: "84", period }, policyToken);
  const groups = await readTable(page, "inclusion-table");
  assert.equal(groups.length, inclusion.shares.length);
  inclusion.shares.forEach((share, i) => assert.equal(Number(groups[i].share_enrolled.value), Number(share.shareEnrolled)));
  await shot(page, "region-84-policy-fr.png");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a new event appears on screen within 2 s (WatchIndicators)", async () => {
  const { page, errors } = await openPage("#/region/84?lang=en&skill=3.4");
  await page.evaluate((token) => sessionStorage.setItem("skills-dashboard-token", token), policyToken);
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector("body[data-rendered] #skills-table");
  await page.waitForFunction(() => document.querySelector("#live")?.dataset.state === "live");
  const period = await page.$eval("#period", (s) => s.value);
  const enrolledOf34 = () =>
    page.$$eval("#skills-table tbody tr", (rows) => {
      const row = rows.find((r) => r.querySelector('[data-field="skill"]').dataset.value.startsWith("3.4"));
      return row.querySelector('[data-field="enrolled"]').dataset.value;
    });
  // Three new learners one after the other; the median delay is checked,
  // so that one slow moment of a busy machine does not decide.
  const delays = [];
  for (let round = 0; round < 3; round++) {
    const start = Number(await enrolledOf34());
    const statement = {
      actor: { account: { homePage: "https://lms.example.org", name: `web-test-${Date.now()}-${round}` } },
      verb: { id: "http://adlnet.gov/expapi/verbs/registered" },
      object: { id: "https://lms.example.org/courses/course-v1:FUN+DIGCOMP34+2025" },
      context: { extensions: { "urn:skills-monitor:xapi:place": { commune: "69123" } } },
      timestamp: `${period.slice(0, 4)}-06-15T10:00:00Z`,
    };
    const sent = Date.now();
    const response = await fetch(`http://${gatewayAddress}/xAPI/statements`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-experience-api-version": "1.0.3",
        authorization: `Basic ${Buffer.from(`${DEMO_PARTNER}:${partnerToken}`).toString("base64")}`,
      },
      body: JSON.stringify(statement),
    });
    assert.equal(response.status, 200, await response.text());
    await page.waitForFunction(
      (expected) => {
        const rows = [...document.querySelectorAll("#skills-table tbody tr")];
        const row = rows.find((r) => r.querySelector('[data-field="skill"]').dataset.value.startsWith("3.4"));
        return row?.querySelector('[data-field="enrolled"]').dataset.value === expected;
      },
      { polling: 20, timeout: 60_000 },
      String(start + 1),
    );
    delays.push((Date.now() - sent) / 1000);
  }
  const median = [...delays].sort((x, y) => x - y)[1];
  console.log(`# a new event was on screen ${delays.map((d) => d.toFixed(2)).join(", ")} s after the gateway accepted it (median ${median.toFixed(2)} s; target 2 s)`);
  writeBudget({ event_on_screen_seconds: delays });
  assert.ok(median <= 2, `a new enrolment took ${median} s (median of ${delays}) to show`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("JSON and CSV routes answer what gRPC answers, for the same token", async () => {
  const period = grpc("RankShortages", { top: 1 }).meta.period;
  for (const token of [undefined, policyToken]) {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    // grpcurl writes an absent message field as null; the routes leave it out.
    const viaGrpc = withoutNulls(grpc("GetSkillAcrossRegions", { skill: "3.4", period }, token));
    const json = await (await fetch(`http://${queryAddress}/v1/skills/3.4/regions?period=${period}`, { headers })).json();
    assert.deepEqual(json.cells, viaGrpc.cells);
    assert.deepEqual(json.national, viaGrpc.national);
    const csv = await (await fetch(`http://${queryAddress}/v1/skills/3.4/regions?period=${period}&format=csv`, { headers })).text();
    const [header, ...lines] = csv.trim().split("\r\n");
    const names = header.split(",");
    const rows = lines.map((line) => Object.fromEntries(line.split(",").map((v, i) => [names[i], v])));
    viaGrpc.cells.forEach((cell, i) => {
      assert.equal(rows[i].region, cell.region);
      assert.equal(rows[i].suppressed, String(cell.suppressed));
      assert.equal(rows[i].learners, cell.learners ?? "");
      assert.equal(rows[i].talent_gap === "" ? undefined : Number(rows[i].talent_gap), cell.talentGap);
    });
  }
});

test("budget: first render and bundle size", async () => {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const { page } = await openPage("#/?lang=en");
    times.push(Number(await page.$eval("body", (b) => b.dataset.rendered)));
    await page.close();
  }
  times.sort((a, b) => a - b);
  const gzipped = ["index.html", "dashboard.js", "dashboard.css"].reduce(
    (sum, file) => sum + statSync(join(web, "dist", `${file}.gz`)).size,
    0,
  );
  const firstRender = times[1];
  console.log(`# first render ${firstRender} ms (median of 3; budget 1000 ms, ${(firstRender / 1000).toFixed(2)} of it)`);
  console.log(`# bundle ${gzipped} B gzipped (budget 307200 B, ${(gzipped / 307200).toFixed(2)} of it)`);
  writeBudget({ first_render_ms: times, bundle_gzip_bytes: gzipped });
  assert.ok(gzipped <= 300 * 1024);
});

function withoutNulls(value) {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
  }
  return value;
}

function writeBudget(figures) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, "budget.json");
  let current = {};
  try {
    current = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    current = {};
  }
  writeFileSync(file, JSON.stringify({ ...current, ...figures }, null, 2) + "\n");
}
