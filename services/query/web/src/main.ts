// The dashboard's entry: reads the address (#/ or #/region/84, with
// period, skill and lang parameters), draws the view, and redraws it when
// WatchIndicators reports newer data.

import { ConnectError } from "@connectrpc/connect";
import { equals } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { connect, storeToken, storedToken, type Api } from "./api.js";
import { setLang, t, type Lang, type Key } from "./i18n.js";
import { WITHHELD_NOTE_ID } from "./table.js";
import { overview, regionPage, type Context, type Reference } from "./views.js";
import {
  WatchIndicatorsResponseSchema,
  type ResponseMeta,
  type WatchIndicatorsResponse,
} from "./gen/skills/v1/talent_gap_pb.js";

interface Route {
  region: string;
  period: string;
  skill: string;
  lang: Lang;
}

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function parseRoute(): Route {
  const [path, query = ""] = window.location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query);
  const region = /^\/region\/([0-9]{2})$/.exec(path ?? "")?.[1] ?? "";
  const asked = params.get("lang");
  const fallback: Lang = navigator.language.toLowerCase().startsWith("fr") ? "fr" : "en";
  return {
    region,
    period: params.get("period") ?? "",
    skill: params.get("skill") ?? "",
    lang: asked === "fr" || asked === "en" ? asked : fallback,
  };
}

function href(route: Route): string {
  const params = new URLSearchParams();
  if (route.period) params.set("period", route.period);
  if (route.skill) params.set("skill", route.skill);
  params.set("lang", route.lang);
  return `#/${route.region ? `region/${route.region}` : ""}?${params}`;
}

class Dashboard {
  private api: Api = connect(storedToken());
  private reference: Reference = { regions: new Map(), skills: new Map() };
  private defaultPeriod = "";
  private defaultSkill = "";
  private shownAsOf = "";
  private drawing: Promise<void> = Promise.resolve();
  private queued?: Promise<void>;
  private watch?: AbortController;
  private watchKey = "";

  async start(): Promise<void> {
    this.bindControls();
    // The skip link moves the focus without touching the address, which
    // holds the view.
    document.querySelector<HTMLAnchorElement>("a.skip")?.addEventListener("click", (event) => {
      event.preventDefault();
      byId<HTMLElement>("main").focus();
    });
    window.addEventListener("hashchange", () => void this.draw());
    await this.draw();
  }

  private route(): Route {
    const route = parseRoute();
    if (!route.period) route.period = this.defaultPeriod;
    if (!route.skill) route.skill = this.defaultSkill;
    return route;
  }

  private bindControls(): void {
    byId<HTMLSelectElement>("lang").addEventListener("change", (event) => {
      this.navigate({ lang: (event.target as HTMLSelectElement).value as Lang });
    });
    byId<HTMLSelectElement>("period").addEventListener("change", (event) => {
      this.navigate({ period: (event.target as HTMLSelectElement).value });
    });
    byId<HTMLSelectElement>("skill").addEventListener("change", (event) => {
      this.navigate({ skill: (event.target as HTMLSelectElement).value });
    });
    byId<HTMLFormElement>("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.useToken(byId<HTMLInputElement>("token").value.trim());
    });
    byId<HTMLButtonElement>("forget").addEventListener("click", () => {
      byId<HTMLInputElement>("token").value = "";
      this.useToken("");
    });
  }

  private useToken(token: string): void {
    storeToken(token);
    this.api = connect(token);
    // Nothing the previous token could see stays on screen or streams.
    this.watch?.abort();
    this.watchKey = "";
    this.shownAsOf = "";
    this.reference = { regions: new Map(), skills: new Map() };
    byId<HTMLElement>("main").replaceChildren();
    byId<HTMLElement>("audience").textContent = token ? t("audienceToken") : t("audiencePublic");
    this.setLive("");
    void this.draw();
  }

  private setLive(state: "" | "live" | "reconnecting"): void {
    const live = byId<HTMLElement>("live");
    if (live.dataset.state === state) return;
    live.dataset.state = state;
    live.textContent = state === "live" ? t("live") : state === "reconnecting" ? t("reconnecting") : "";
  }

  /** Only what the reader chose goes into the address: the defaults
   * (the top of the caller's own ranking) never travel in a shared link. */
  private navigate(change: Partial<Route>): void {
    window.location.hash = href({ ...parseRoute(), ...change });
  }

  /** Draws the current view; draws never overlap, and requests made
   * while one runs become a single next draw. */
  draw(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.drawing.then(() => {
      this.queued = undefined;
      return this.drawNow();
    });
    this.queued = next;
    this.drawing = next.catch(() => undefined);
    return next;
  }

  private async drawNow(): Promise<void> {
    const main = byId<HTMLElement>("main");
    if (window.location.hash === "#main") return; // the skip link
    try {
      setLang(parseRoute().lang);
      this.translateStatic();
      if (this.reference.regions.size === 0) await this.loadReference();
      const route = this.route();
      this.fillControls(route);
      const context: Context = {
        api: this.api,
        reference: this.reference,
        period: route.period,
        skill: route.skill,
        regionHref: (code) => href({ ...parseRoute(), region: code }),
        onMeta: (meta) => this.noteMeta(meta),
      };
      main.setAttribute("aria-busy", "true");
      if (route.region) await regionPage(main, context, route.region);
      else await overview(main, context);
      main.removeAttribute("aria-busy");
      this.showError("");
      this.keepWatching(route);
      if (!document.body.dataset.rendered) document.body.dataset.rendered = String(Math.round(performance.now()));
    } catch (error) {
      main.removeAttribute("aria-busy");
      this.showError(ConnectError.from(error).rawMessage);
    }
  }

  private async loadReference(): Promise<void> {
    const [reference, top] = await Promise.all([
      this.api.getReferenceData({}),
      // The defaults: the service's period (the latest year with data),
      // and the skill of the largest gap the caller may see.
      this.api.rankShortages({ period: "", top: 1 }),
    ]);
    this.reference = {
      regions: new Map(reference.regions.map((r) => [r.code, r.name])),
      skills: new Map(reference.skills.map((s) => [s.code, s.name])),
    };
    this.defaultPeriod = top.meta?.period ?? String(new Date().getUTCFullYear());
    this.defaultSkill = top.cells[0]?.skill ?? reference.skills[0]?.code ?? "";
  }

  private fillControls(route: Route): void {
    const year = Number(this.defaultPeriod.slice(0, 4));
    const periods = [0, 1, 2, 3].map((back) => String(year - back));
    for (let q = 1; q <= 4; q++) periods.push(`${year}-Q${q}`);
    if (!periods.includes(route.period)) periods.unshift(route.period);
    fill(byId("period"), periods.map((p) => [p, p]), route.period);
    fill(
      byId("skill"),
      [...this.reference.skills].map(([code, name]) => [code, `${code} ${name}`]),
      route.skill,
    );
    byId<HTMLSelectElement>("lang").value = route.lang;
    byId<HTMLElement>("audience").textContent = storedToken() ? t("audienceToken") : t("audiencePublic");
  }

  private translateStatic(): void {
    document.title = t("title");
    for (const node of document.querySelectorAll<HTMLElement>("[data-i18n]")) {
      node.textContent = t(node.dataset.i18n as Key);
    }
  }

  private noteMeta(meta: ResponseMeta | undefined): void {
    // With k = 0 (a policy token) nothing is withheld: only "no value" is explained.
    const k = meta?.suppressionK ?? 0;
    const withheld = k > 0 ? `${t("withheld")}: ${t("withheldReason", { k })} ` : "";
    byId<HTMLElement>(WITHHELD_NOTE_ID).textContent = `${withheld}${t("undefinedReason")}`;
    this.shownAsOf = meta?.asOf ? timestampDate(meta.asOf).toISOString() : "";
  }

  /** One watch stream for the view's region and period; a message with
   * a newer as-of redraws. Reconnects after a pause when it ends. */
  private keepWatching(route: Route): void {
    const key = `${route.region}|${route.period}`;
    if (key === this.watchKey) return;
    this.watchKey = key;
    this.watch?.abort();
    const controller = new AbortController();
    this.watch = controller;
    const api = this.api;
    void (async () => {
      let pause = 500;
      while (!controller.signal.aborted) {
        try {
          const stream = api.watchIndicators({ region: route.region, period: route.period }, { signal: controller.signal });
          // The stream's previous message: the service sends a new one
          // when the region's numbers change, and repeats the last one as a
          // keepalive. The as-of time (to the second) alone cannot tell:
          // two events in one second share it.
          let previous: WatchIndicatorsResponse | undefined;
          for await (const update of stream) {
            this.setLive("live");
            pause = 500;
            const asOf = update.meta?.asOf ? timestampDate(update.meta.asOf).toISOString() : "";
            // A draw that failed left the older as-of: drawn again then.
            const changed =
              asOf !== this.shownAsOf || (previous !== undefined && !equals(WatchIndicatorsResponseSchema, previous, update));
            previous = update;
            if (changed) await this.draw();
          }
        } catch (error) {
          // Ours to end only when aborted; any other end (the stream's
          // maximum age, a restart, a timeout) is reconnected.
          if (controller.signal.aborted) return;
          void ConnectError.from(error);
        }
        if (controller.signal.aborted) return;
        this.setLive("reconnecting");
        // Jittered, so that streams cut at once do not return at once.
        await new Promise((resolve) => setTimeout(resolve, pause * (0.5 + Math.random())));
        pause = Math.min(pause * 2, 10_000);
      }
    })();
  }

  private showError(message: string): void {
    const box = byId<HTMLElement>("error");
    box.textContent = message ? t("error", { message }) : "";
    box.hidden = !message;
  }
}

function fill(select: HTMLSelectElement, options: string[][], value: string): void {
  const wanted = options.map(([v, label]) => `${v}\u0000${label}`).join("\u0001");
  if (select.dataset.options !== wanted) {
    select.replaceChildren(
      ...options.map(([v, label]) => {
        const option = document.createElement("option");
        option.value = v ?? "";
        option.textContent = label ?? "";
        return option;
      }),
    );
    select.dataset.options = wanted;
  }
  select.value = value;
}

void new Dashboard().start();
