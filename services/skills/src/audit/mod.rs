//! `skills disclosure-audit`: everything one audience can obtain for a
//! year, read through the service's own calls (every region, skill, period
//! and granularity, trends and rankings), set against the truth, and
//! attacked as a statistical office's audit would (`intervals`). Exits 1 on
//! any withheld value computable by differencing, any withheld small value
//! whose feasible interval is narrower than the protection level, or any
//! call that shows a figure differently from another.

pub mod intervals;

use intervals::{Finding, Observed};
use skills_domain::Period;
use skills_domain::disclosure::hierarchy::{ALL, FigureKey, Hierarchy};
use skills_domain::indicators::{Audience, INCLUSION_GROUPS, IndicatorSettings};
use skills_domain::reference::{REGIONS, SKILLS};
use skills_proto::v1 as pb;
use skills_proto::v1::talent_gap_service_server::TalentGapService;
use skills_query::auth::Authorizer;
use skills_query::engine::IndicatorEngine;
use skills_query::service::TalentGapApi;
use skills_store::MetricsStore;
use std::sync::Arc;

const POLICY_TOKEN: &str = "disclosure-audit-policy";
const AUDIENCE_TOKEN: &str = "disclosure-audit-audience";

/// What the audit found, for printing or JSON.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub audience: String,
    pub year: i32,
    pub protection_percent: f64,
    pub figures: usize,
    pub primary_figures: usize,
    pub withheld_figures: usize,
    /// Withheld values checked (figures × variables).
    pub withheld_values: usize,
    pub primary_values: usize,
    pub exact_disclosures: usize,
    /// Withheld zeros the shown values give (not protected, not a failure).
    pub zeros_implied: usize,
    pub unprotected: usize,
    /// Calls that showed a figure differently from another call.
    pub inconsistencies: Vec<String>,
    /// Shown figures giving a partner between 1 and k − 1 learners of other
    /// partners (its count minus its own part).
    pub few_others: Vec<String>,
    /// The narrowest intervals of primary values, narrowest first.
    pub narrowest: Vec<Narrow>,
    /// Every exact or unprotected value (empty when the audit passes).
    pub failures: Vec<Narrow>,
}

#[derive(Debug, serde::Serialize)]
pub struct Narrow {
    pub figure: String,
    pub variable: &'static str,
    pub value: i64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub required_width: f64,
    pub exact: bool,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.exact_disclosures == 0
            && self.unprotected == 0
            && self.inconsistencies.is_empty()
            && self.few_others.is_empty()
    }
}

pub fn figure_name(key: &FigureKey) -> String {
    match key.group {
        Some(group) => format!("{} {} group {}", key.period, key.region, INCLUSION_GROUPS[group]),
        None => format!("{} {} {}", key.period, key.region, key.skill),
    }
}

/// Audits `year` for `audience` on `store`, with the service's own code.
pub async fn audit_store(
    store: Arc<dyn MetricsStore>,
    settings: IndicatorSettings,
    audience: Audience,
    year: i32,
    protection_percent: f64,
    narrowest: usize,
) -> Result<Report, String> {
    let k = settings.suppression_k;
    let engine = IndicatorEngine::new(store, settings).await.map_err(|e| e.to_string())?;
    let mut auth = Authorizer::new(Some("public"))?;
    auth.add_token(POLICY_TOKEN, Audience::Policy);
    if audience != Audience::Public {
        auth.add_token(AUDIENCE_TOKEN, audience.clone());
    }
    let (_trigger, shutdown) = skills_runtime::shutdown_pair();
    // The audit asks thousands of questions in process: no rate limit.
    let api = TalentGapApi::in_process(engine.clone(), auth, 4, shutdown);
    let token = (audience != Audience::Public).then_some(AUDIENCE_TOKEN);
    let snapshot = engine.year(year).await.map_err(|e| e.to_string())?;
    let publication = snapshot.publication.as_ref().ok_or("the engine served an undecided year")?;
    let hierarchy = &publication.hierarchy;
    let mut observer = Observer::new(hierarchy);
    let started = std::time::Instant::now();
    observe(&api, token, year, &mut observer).await?;
    let observed_in = started.elapsed();
    let findings = intervals::audit(hierarchy, &observer.observed, protection_percent);
    tracing::info!(
        year,
        figures = hierarchy.figures.len(),
        observe_ms = observed_in.as_millis() as u64,
        audit_ms = (started.elapsed() - observed_in).as_millis() as u64,
        "disclosure audit done"
    );
    let mut report = report(hierarchy, &observer, &findings, &audience, year, protection_percent, narrowest);
    report.few_others = intervals::few_others_shown(&observer.observed, k)
        .into_iter()
        .map(|f| {
            format!("{} {}: {} of other partners", figure_name(&hierarchy.figures[f.figure].key), f.variable, f.others)
        })
        .collect();
    Ok(report)
}

/// What the audience obtains, per figure of the hierarchy; a figure shown
/// two ways is recorded as an inconsistency.
struct Observer<'a> {
    hierarchy: &'a Hierarchy,
    observed: Vec<Observed>,
    seen: Vec<bool>,
    inconsistencies: Vec<String>,
}

impl<'a> Observer<'a> {
    fn new(hierarchy: &'a Hierarchy) -> Self {
        let n = hierarchy.figures.len();
        Observer {
            hierarchy,
            observed: vec![Observed::default(); n],
            seen: vec![false; n],
            inconsistencies: Vec::new(),
        }
    }

    fn record(&mut self, key: &FigureKey, observed: Observed, call: &str) {
        // A figure the year does not hold is empty: it must be shown as such.
        let Some(&index) = self.hierarchy.index.get(key) else {
            let shows_something = observed.withheld || observed.values.iter().flatten().any(|v| *v != 0);
            if shows_something {
                self.inconsistencies
                    .push(format!("{call}: {} has no learner but is shown as {observed:?}", figure_name(key)));
            }
            return;
        };
        if self.seen[index] && self.observed[index] != observed {
            self.inconsistencies.push(format!(
                "{call}: {} shown as {observed:?}, elsewhere as {:?}",
                figure_name(key),
                self.observed[index]
            ));
            return;
        }
        self.seen[index] = true;
        self.observed[index] = observed;
    }

    fn cell(&mut self, cell: &pb::CellIndicators, period: Period, call: &str) {
        let key = FigureKey::cell(period, &cell.region, &cell.skill);
        self.record(&key, cell_values(cell), call);
    }
}

fn to_i64(value: Option<u64>) -> Option<i64> {
    value.map(|v| v as i64)
}

/// A served cell's values; active learners finishing within the horizon
/// are read back as pipeline ÷ completion rate when both are shown.
fn cell_values(cell: &pb::CellIndicators) -> Observed {
    let finishing = match (cell.pipeline, cell.completion_rate) {
        (Some(pipeline), Some(rate)) if rate > 0.0 => Some((pipeline / rate).round() as i64),
        _ => None,
    };
    let own = match &cell.own {
        Some(o) => {
            let known = |v: u64| Some(v as i64);
            [
                known(o.learners),
                known(o.enrolled),
                known(o.completed),
                known(o.dropped_out),
                known(o.certified),
                known(o.active),
                known(o.finishing),
                None,
                None,
            ]
        }
        None => [None; 9],
    };
    Observed {
        withheld: cell.suppressed,
        values: [
            to_i64(cell.learners),
            to_i64(cell.enrolled),
            to_i64(cell.completed),
            to_i64(cell.dropped_out),
            to_i64(cell.certified),
            to_i64(cell.active),
            finishing,
            None,
            None,
        ],
        own,
    }
}

fn request<T>(body: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(body);
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().expect("an ASCII token");
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// Every call an audience can make about the year, recorded.
async fn observe(
    api: &TalentGapApi,
    token: Option<&str>,
    year: i32,
    observer: &mut Observer<'_>,
) -> Result<(), String> {
    let failed = |e: tonic::Status| format!("{}: {}", e.code(), e.message());
    for period in Period::all_of_year(year) {
        let p = period.to_string();
        for region in REGIONS.iter() {
            let body = pb::GetRegionIndicatorsRequest { region: region.code.into(), period: p.clone() };
            let response = api.get_region_indicators(request(body, token)).await.map_err(failed)?.into_inner();
            for cell in &response.cells {
                observer.cell(cell, period, "GetRegionIndicators");
            }
            let body = pb::GetInclusionRequest { region: region.code.into(), period: p.clone() };
            let inclusion = api.get_inclusion(request(body, token)).await.map_err(failed)?.into_inner();
            let total = Observed {
                withheld: inclusion.suppressed,
                values: [
                    None,
                    to_i64(inclusion.enrolled),
                    None,
                    None,
                    to_i64(inclusion.certified),
                    None,
                    None,
                    None,
                    None,
                ],
                own: [None; 9],
            };
            let mut own_total = [None; 9];
            let mut own_groups = vec![[None; 9]; INCLUSION_GROUPS.len()];
            if let Some(own) = &inclusion.own {
                own_total[0] = Some(own.learners as i64);
                own_total[1] = Some(own.enrolled as i64);
                own_total[4] = Some(own.certified as i64);
                for (group, part) in own.groups.iter().enumerate().take(own_groups.len()) {
                    own_groups[group][7] = Some(part.enrolled as i64);
                    own_groups[group][8] = Some(part.certified as i64);
                }
            }
            let total = Observed { own: own_total, ..total };
            observer.record(&FigureKey::cell(period, region.code, ALL), total, "GetInclusion");
            for (group, share) in inclusion.shares.iter().enumerate() {
                let count = |share: Option<f64>, of: Option<u64>| match (share, of) {
                    (Some(share), Some(of)) => Some((share * of as f64).round() as i64),
                    _ => None,
                };
                let mut values = [None; 9];
                values[7] = count(share.share_enrolled, inclusion.enrolled);
                values[8] = count(share.share_certified, inclusion.certified);
                let observed = Observed { withheld: share.suppressed, values, own: own_groups[group] };
                observer.record(&FigureKey::group(period, region.code, group), observed, "GetInclusion");
            }
            if inclusion.suppressed {
                for (group, own) in own_groups.iter().enumerate() {
                    let observed = Observed { withheld: true, values: [None; 9], own: *own };
                    observer.record(&FigureKey::group(period, region.code, group), observed, "GetInclusion");
                }
            }
        }
        for skill in SKILLS.iter() {
            let body = pb::GetSkillAcrossRegionsRequest { skill: skill.code.into(), period: p.clone() };
            let response = api.get_skill_across_regions(request(body, token)).await.map_err(failed)?.into_inner();
            for cell in response.cells.iter().chain(&response.national) {
                observer.cell(cell, period, "GetSkillAcrossRegions");
            }
        }
        let mut page_token = String::new();
        loop {
            let body = pb::RankShortagesRequest {
                period: p.clone(),
                top: 500,
                page_size: 100,
                page_token,
                ..Default::default()
            };
            let ranked = api.rank_shortages(request(body, token)).await.map_err(failed)?.into_inner();
            for cell in &ranked.cells {
                if cell.suppressed {
                    observer
                        .inconsistencies
                        .push(format!("RankShortages ranks withheld {} {}", cell.region, cell.skill));
                }
                observer.cell(cell, period, "RankShortages");
            }
            if ranked.next_page_token.is_empty() {
                break;
            }
            page_token = ranked.next_page_token;
        }
    }
    // Trends: months, quarters and the year of every region × skill.
    for region in REGIONS.iter() {
        for skill in SKILLS.iter() {
            let ranges = [
                (format!("{year}-01"), format!("{year}-12")),
                (format!("{year}-Q1"), format!("{year}-Q4")),
                (year.to_string(), year.to_string()),
            ];
            for (from, to) in ranges {
                let body = pb::GetTrendRequest { region: region.code.into(), skill: skill.code.into(), from, to };
                let trend = api.get_trend(request(body, token)).await.map_err(failed)?.into_inner();
                for point in &trend.points {
                    let period: Period = point.period.parse().map_err(|e: skills_domain::PeriodError| e.to_string())?;
                    observer.cell(point, period, "GetTrend");
                }
            }
        }
    }
    Ok(())
}

fn narrow(hierarchy: &Hierarchy, finding: &Finding) -> Narrow {
    Narrow {
        figure: figure_name(&hierarchy.figures[finding.figure].key),
        variable: finding.variable,
        value: finding.value,
        low: finding.low,
        high: finding.high,
        required_width: finding.required_width,
        exact: finding.exact,
    }
}

fn report(
    hierarchy: &Hierarchy,
    observer: &Observer<'_>,
    findings: &[Finding],
    audience: &Audience,
    year: i32,
    protection_percent: f64,
    narrowest: usize,
) -> Report {
    let mut intervals: Vec<&Finding> = findings.iter().filter(|f| f.low.is_some()).collect();
    intervals.sort_by(|a, b| {
        (a.width() / a.value.max(1) as f64)
            .total_cmp(&(b.width() / b.value.max(1) as f64))
            .then(a.figure.cmp(&b.figure))
    });
    let withheld: Vec<usize> = (0..hierarchy.figures.len()).filter(|&i| observer.observed[i].withheld).collect();
    let mut unseen = Vec::new();
    for (index, figure) in hierarchy.figures.iter().enumerate() {
        if !observer.seen[index] && figure.key.region != ALL {
            unseen.push(figure_name(&figure.key));
        }
    }
    let mut inconsistencies = observer.inconsistencies.clone();
    if !unseen.is_empty() {
        inconsistencies.push(format!("{} figures never shown by any call, e.g. {}", unseen.len(), unseen[0]));
    }
    Report {
        audience: skills_query::auth::scope_name(audience),
        year,
        protection_percent,
        figures: hierarchy.figures.len(),
        primary_figures: hierarchy.figures.iter().filter(|f| f.primary).count(),
        withheld_figures: withheld.len(),
        withheld_values: findings.len(),
        primary_values: intervals.len(),
        exact_disclosures: findings.iter().filter(|f| f.exact && !f.zero()).count(),
        zeros_implied: findings.iter().filter(|f| f.zero()).count(),
        unprotected: findings.iter().filter(|f| !f.protected).count(),
        inconsistencies,
        few_others: Vec::new(),
        narrowest: intervals.iter().take(narrowest).map(|f| narrow(hierarchy, f)).collect(),
        failures: findings.iter().filter(|f| !f.protected).map(|f| narrow(hierarchy, f)).collect(),
    }
}

/// `skills disclosure-audit`: prints the report; true when it passes.
pub async fn run(config: crate::SkillsConfig, args: crate::cli::DisclosureAuditArgs) -> Result<bool, String> {
    let audience = skills_query::auth::parse_scope(&args.audience)?;
    if audience == Audience::Policy {
        return Err("the policy scope sees everything: audit `public` or `partner:<id>`".into());
    }
    let store = skills_store::open(&config.store, &config.data_dir).await.map_err(|e| e.to_string())?;
    let year = match args.year {
        Some(year) => year,
        None => {
            let status = store.status().await.map_err(|e| e.to_string())?;
            if status.newest_event.is_none() {
                return Err("the store holds no event: nothing is published".into());
            }
            let allowance = chrono::Duration::days(i64::from(config.indicators.late_allowance_days));
            let now = chrono::Utc::now();
            skills_domain::indicators::default_year(status.oldest_event, status.newest_event, allowance, now).year()
        }
    };
    let report =
        audit_store(store, config.indicators.clone(), audience, year, args.protection_percent, args.narrowest).await?;
    // Passing on nothing would read as an assurance.
    if report.figures == 0 {
        return Err(format!(
            "the configured store ({} store) publishes no figure for {year}: nothing to audit \
             (is it the store the service reads? see `store.kind`)",
            match config.store.kind {
                skills_store::StoreKind::Embedded => "embedded",
                skills_store::StoreKind::ClickHouse => "ClickHouse",
            }
        ));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).expect("serializes"));
    } else {
        print_report(&report);
    }
    Ok(report.passed())
}

fn print_report(report: &Report) {
    let share = |part: usize, whole: usize| 100.0 * part as f64 / whole.max(1) as f64;
    println!("disclosure audit of {} for audience {}", report.year, report.audience);
    println!(
        "figures {}: {} primary ({:.1} %), {} withheld ({:.1} %)",
        report.figures,
        report.primary_figures,
        share(report.primary_figures, report.figures),
        report.withheld_figures,
        share(report.withheld_figures, report.figures)
    );
    println!(
        "withheld values {} ({} of small figures with an interval); computable by differencing {} (and {} zeros); \
         narrower than the protection ({} %) {}",
        report.withheld_values,
        report.primary_values,
        report.exact_disclosures,
        report.zeros_implied,
        report.protection_percent,
        report.unprotected
    );
    let interval = |n: &Narrow| match (n.low, n.high) {
        (Some(low), Some(high)) => format!("[{low:.2}, {high:.2}]"),
        _ => "-".to_string(),
    };
    println!("narrowest intervals found (value: values it can take, at least this far apart; width required):");
    for n in &report.narrowest {
        println!("  {} {} = {}: {} ≥ {:.2}", n.figure, n.variable, n.value, interval(n), n.required_width);
    }
    for n in &report.failures {
        let why = if n.exact { "computable by differencing" } else { "interval too narrow" };
        println!("FAIL {} {} = {}: {} {}", n.figure, n.variable, n.value, why, interval(n));
    }
    for line in &report.inconsistencies {
        println!("FAIL {line}");
    }
    for line in &report.few_others {
        println!("FAIL shown, minus the audience's own learners: {line}");
    }
    println!("{}", if report.passed() { "PASS" } else { "FAIL" });
}
