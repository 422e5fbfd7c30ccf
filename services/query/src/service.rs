//! The TalentGapService calls: validate, authorise, read the engine's
//! period snapshot, publish per audience, convert.

use crate::admission::{Admission, Ticket};
use crate::auth::Authorizer;
use crate::config::Limits;
use crate::convert;
use crate::engine::{IndicatorEngine, PeriodCells};
use crate::error::QueryError;
use crate::paging;
use crate::request;
use skills_domain::Period;
use skills_domain::disclosure::hierarchy::ALL;
use skills_domain::indicators::{Audience, CellCounters, CellIndicators, duncan_index, inclusion_shares};
use skills_domain::reference::{REGIONS, SKILLS};
use skills_proto::v1 as pb;
use skills_proto::v1::talent_gap_service_server::TalentGapService;
use skills_runtime::Shutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

const DEFAULT_TOP: u32 = 10;
const MAX_TOP: u32 = 500;
const MAX_TREND_POINTS: usize = 120;
const WATCH_BUFFER: usize = 4;
/// How long a watch stream's last message may wait for a client to read.
const WATCH_SEND_PATIENCE: Duration = Duration::from_secs(5);

pub struct TalentGapApi {
    engine: Arc<IndicatorEngine>,
    auth: Arc<Authorizer>,
    admission: Arc<Admission>,
    watch_max_age: Duration,
    watch_keepalive: Option<Duration>,
    shutdown: Shutdown,
}

impl TalentGapApi {
    pub fn new(
        engine: Arc<IndicatorEngine>,
        auth: Authorizer,
        limits: Limits,
        watch_max_age: Duration,
        shutdown: Shutdown,
    ) -> Self {
        TalentGapApi {
            engine,
            auth: Arc::new(auth),
            admission: Arc::new(Admission::new(limits)),
            watch_max_age,
            watch_keepalive: None,
            shutdown,
        }
    }

    /// For a client in the same process (the disclosure audit, benches,
    /// tests): no rate limit, `concurrent` calls at once, watch streams of
    /// the default age.
    pub fn in_process(engine: Arc<IndicatorEngine>, auth: Authorizer, concurrent: usize, shutdown: Shutdown) -> Self {
        let age = Duration::from_secs(crate::QueryConfig::default().watch_max_age_s);
        Self::new(engine, auth, Limits::unlimited(concurrent), age, shutdown)
    }

    /// Authenticates and admits a call (`crate::admission`): its audience,
    /// the k it is served with, and the ticket it holds until it ends.
    async fn admit<T>(&self, request: &Request<T>) -> Result<(Audience, u32, Ticket), QueryError> {
        let identity = self.auth.identify(request.metadata())?;
        let address = request.remote_addr().map(|a| a.ip());
        let ticket = self.admission.call(&identity, address).await?;
        let k = identity.audience.suppression_k(self.engine.settings().suppression_k);
        Ok((identity.audience, k, ticket))
    }

    pub fn engine(&self) -> Arc<IndicatorEngine> {
        self.engine.clone()
    }

    /// Watch streams send their state again after `every` without a
    /// change (`query.watch_keepalive_s`).
    pub fn with_watch_keepalive(mut self, every: Option<Duration>) -> Self {
        self.watch_keepalive = every;
        self
    }
}

fn empty_cell(region: &str, skill: &str) -> CellIndicators {
    CellIndicators::from_counters(&CellCounters {
        region: region.to_string(),
        skill: Some(skill.to_string()),
        ..Default::default()
    })
}

/// Whose status a caller may read: a partner its own, policy anyone's.
fn status_partner(audience: &Audience, asked: &str) -> Result<String, QueryError> {
    let denied = |action| QueryError::PermissionDenied { scope: crate::auth::scope_name(audience), action };
    match audience {
        Audience::Partner(own) if asked.is_empty() || asked == own => Ok(own.clone()),
        Audience::Partner(_) => Err(denied("read another partner's status")),
        Audience::Policy if asked.is_empty() => Err(QueryError::InvalidArgument {
            field: "partner_id",
            detail: "name the partner (a policy caller speaks for none)".into(),
        }),
        Audience::Policy if asked.len() > 128 => {
            Err(QueryError::InvalidArgument { field: "partner_id", detail: "longer than 128 characters".into() })
        }
        Audience::Policy => Ok(asked.to_string()),
        Audience::Public => Err(denied("read a partner's status")),
    }
}

/// The partner a caller speaks for: its own parts are shown to it.
fn partner_of(audience: &Audience) -> Option<&str> {
    match audience {
        Audience::Partner(id) => Some(id),
        Audience::Policy | Audience::Public => None,
    }
}

/// A cell as served to a caller whose k is `k`, with the caller's own
/// part when it is a partner.
fn served_cell(snapshot: &PeriodCells, cell: &CellIndicators, k: u32, partner: Option<&str>) -> pb::CellIndicators {
    let mut served = convert::cell(snapshot.publish(cell, k), snapshot.period);
    if let Some(partner) = partner {
        let skill = cell.skill.as_deref().unwrap_or(ALL);
        served.own = Some(convert::contribution(snapshot.own(partner, &cell.region, skill), false));
    }
    served
}

/// The 21 skills of a region, empty cells included.
fn region_cells(snapshot: &PeriodCells, region: &str, k: u32, partner: Option<&str>) -> Vec<pb::CellIndicators> {
    SKILLS
        .iter()
        .map(|skill| {
            let cell = snapshot.cell(region, skill.code).cloned().unwrap_or_else(|| empty_cell(region, skill.code));
            served_cell(snapshot, &cell, k, partner)
        })
        .collect()
}

fn region_update(
    snapshot: &PeriodCells,
    region: Option<&str>,
    k: u32,
    partner: Option<&str>,
) -> pb::WatchIndicatorsResponse {
    let cells: Vec<pb::CellIndicators> = match region {
        Some(region) => region_cells(snapshot, region, k, partner),
        None => snapshot.cells.iter().map(|cell| served_cell(snapshot, cell, k, partner)).collect(),
    };
    pb::WatchIndicatorsResponse { meta: Some(convert::meta_of(snapshot, k, &cells)), cells }
}

#[tonic::async_trait]
impl TalentGapService for TalentGapApi {
    async fn get_region_indicators(
        &self,
        request: Request<pb::GetRegionIndicatorsRequest>,
    ) -> Result<Response<pb::GetRegionIndicatorsResponse>, Status> {
        let (audience, k, ticket) = self.admit(&request).await?;
        let body = request.get_ref();
        let region = request::region(&body.region)?;
        let period = request::period("period", &body.period, self.engine.default_period())?;
        let snapshot = self.engine.cells(period, &ticket.lane, k).await.map_err(QueryError::from)?;
        let cells = region_cells(&snapshot, region.code, k, partner_of(&audience));
        Ok(Response::new(pb::GetRegionIndicatorsResponse {
            meta: Some(convert::meta_of(&snapshot, k, &cells)),
            region: region.code.to_string(),
            region_name: region.name.to_string(),
            cells,
        }))
    }

    async fn rank_shortages(
        &self,
        request: Request<pb::RankShortagesRequest>,
    ) -> Result<Response<pb::RankShortagesResponse>, Status> {
        let (audience, k, ticket) = self.admit(&request).await?;
        let body = request.get_ref();
        let period = request::period("period", &body.period, self.engine.default_period())?;
        let region = request::optional_region(&body.region)?;
        let skill = request::optional_skill(&body.skill)?;
        let top = match body.top {
            0 => DEFAULT_TOP,
            n if n <= MAX_TOP => n,
            n => return Err(QueryError::invalid("top", format!("{n} is more than {MAX_TOP}")).into()),
        };
        let by_ratio = match pb::RankBy::try_from(body.rank_by) {
            Ok(pb::RankBy::Unspecified | pb::RankBy::TalentGap) => false,
            Ok(pb::RankBy::ShortageRatio) => true,
            Err(_) => return Err(QueryError::invalid("rank_by", format!("unknown value {}", body.rank_by)).into()),
        };
        let snapshot = self.engine.cells(period, &ticket.lane, k).await.map_err(QueryError::from)?;
        // A withheld cell takes no place in a ranking: its rank would hint
        // at the value.
        let mut ranked: Vec<&CellIndicators> = snapshot
            .cells
            .iter()
            .filter(|c| c.openings > 0 && !snapshot.withholds(c, k))
            .filter(|c| region.is_none_or(|r| c.region == r.code))
            .filter(|c| skill.is_none_or(|s| c.skill.as_deref() == Some(s.code)))
            .collect();
        let measure = |c: &CellIndicators| if by_ratio { c.shortage_ratio } else { c.talent_gap };
        ranked.sort_by(|a, b| {
            measure(b).total_cmp(&measure(a)).then_with(|| (&a.region, &a.skill).cmp(&(&b.region, &b.skill)))
        });
        ranked.truncate(top as usize);
        let size = paging::page_size(body.page_size, top)?;
        let listing =
            [period.to_string(), by_ratio.to_string(), top.to_string(), body.region.clone(), body.skill.clone()];
        let print = paging::fingerprint(&listing.each_ref().map(String::as_str));
        let offset = paging::decode(&body.page_token, print)?;
        let (page, next_page_token) = paging::page(&ranked, offset, size, print);
        let cells: Vec<pb::CellIndicators> =
            page.into_iter().map(|c| served_cell(&snapshot, c, k, partner_of(&audience))).collect();
        Ok(Response::new(pb::RankShortagesResponse {
            meta: Some(convert::meta_of(&snapshot, k, &cells)),
            cells,
            next_page_token,
        }))
    }

    async fn get_skill_across_regions(
        &self,
        request: Request<pb::GetSkillAcrossRegionsRequest>,
    ) -> Result<Response<pb::GetSkillAcrossRegionsResponse>, Status> {
        let (audience, k, ticket) = self.admit(&request).await?;
        let partner = partner_of(&audience);
        let body = request.get_ref();
        let skill = request::skill(&body.skill)?;
        let period = request::period("period", &body.period, self.engine.default_period())?;
        let snapshot = self.engine.cells(period, &ticket.lane, k).await.map_err(QueryError::from)?;
        let all: Vec<CellIndicators> = REGIONS
            .iter()
            .map(|r| snapshot.cell(r.code, skill.code).cloned().unwrap_or_else(|| empty_cell(r.code, skill.code)))
            .collect();
        // The index uses only what this caller may see.
        let visible: Vec<(f64, f64)> = all
            .iter()
            .filter(|c| !snapshot.withholds(c, k))
            .map(|c| (c.openings as f64, c.qualified_supply()))
            .collect();
        let cells: Vec<pb::CellIndicators> = all.iter().map(|c| served_cell(&snapshot, c, k, partner)).collect();
        let national = snapshot
            .national
            .iter()
            .find(|c| c.skill.as_deref() == Some(skill.code))
            .cloned()
            .unwrap_or_else(|| empty_cell(ALL, skill.code));
        Ok(Response::new(pb::GetSkillAcrossRegionsResponse {
            meta: Some(convert::meta_of(&snapshot, k, &cells)),
            skill: skill.code.to_string(),
            skill_name: skill.name.to_string(),
            cells,
            mismatch_index: duncan_index(&visible),
            national: Some(served_cell(&snapshot, &national, k, partner)),
        }))
    }

    async fn get_inclusion(
        &self,
        request: Request<pb::GetInclusionRequest>,
    ) -> Result<Response<pb::GetInclusionResponse>, Status> {
        let (audience, k, ticket) = self.admit(&request).await?;
        let body = request.get_ref();
        let region = request::region(&body.region)?;
        let period = request::period("period", &body.period, self.engine.default_period())?;
        let snapshot = self.engine.regions(period, &ticket.lane, k).await.map_err(QueryError::from)?;
        let own = partner_of(&audience).map(|p| convert::contribution(snapshot.own(p, region.code), true));
        let counters = snapshot.regions.iter().find(|r| r.region == region.code).cloned().unwrap_or_default();
        let suppressed = snapshot.withholds_total(region.code, k);
        let shares = if suppressed {
            Vec::new()
        } else {
            inclusion_shares(&counters.supply, &self.engine.settings().inclusion_targets)
                .into_iter()
                .enumerate()
                .map(|(group, share)| match snapshot.withholds_group(region.code, group, k) {
                    true => convert::withheld_share(share),
                    false => convert::inclusion_share(share),
                })
                .collect()
        };
        Ok(Response::new(pb::GetInclusionResponse {
            meta: Some(convert::meta(&snapshot.status, snapshot.complete, period, k, &[])),
            region: region.code.to_string(),
            suppressed,
            enrolled: (!suppressed).then_some(counters.supply.enrolled),
            certified: (!suppressed).then_some(counters.supply.certified_at_target),
            shares,
            own,
        }))
    }

    async fn get_trend(&self, request: Request<pb::GetTrendRequest>) -> Result<Response<pb::GetTrendResponse>, Status> {
        let (audience, k, ticket) = self.admit(&request).await?;
        let body = request.get_ref();
        let region = request::region(&body.region)?;
        let skill = request::skill(&body.skill)?;
        let from: Period =
            body.from.parse().map_err(|e: skills_domain::PeriodError| QueryError::invalid("from", e.to_string()))?;
        let to: Period =
            body.to.parse().map_err(|e: skills_domain::PeriodError| QueryError::invalid("to", e.to_string()))?;
        if from.granularity() != to.granularity() {
            return Err(QueryError::invalid("to", format!("{to} is not of the same granularity as from {from}")).into());
        }
        let periods = from.through(to);
        if periods.is_empty() {
            return Err(QueryError::invalid("to", format!("{to} is before from {from}")).into());
        }
        if periods.len() > MAX_TREND_POINTS {
            return Err(QueryError::invalid(
                "to",
                format!("{} points requested, at most {MAX_TREND_POINTS}", periods.len()),
            )
            .into());
        }
        let mut points = Vec::with_capacity(periods.len());
        let mut last = None;
        let snapshots = self.engine.cells_of(&periods, &ticket.lane, k).await.map_err(QueryError::from)?;
        for snapshot in snapshots {
            let cell =
                snapshot.cell(region.code, skill.code).cloned().unwrap_or_else(|| empty_cell(region.code, skill.code));
            points.push(served_cell(&snapshot, &cell, k, partner_of(&audience)));
            last = Some(snapshot);
        }
        let last = last.expect("at least one period");
        let mut meta = convert::meta_of(&last, k, &points);
        meta.period = format!("{from}..{to}");
        Ok(Response::new(pb::GetTrendResponse { meta: Some(meta), points }))
    }

    async fn get_reference_data(
        &self,
        request: Request<pb::GetReferenceDataRequest>,
    ) -> Result<Response<pb::GetReferenceDataResponse>, Status> {
        let (_audience, _k, _ticket) = self.admit(&request).await?;
        Ok(Response::new(pb::GetReferenceDataResponse {
            regions: REGIONS.iter().map(|r| pb::Region { code: r.code.into(), name: r.name.into() }).collect(),
            skills: SKILLS
                .iter()
                .map(|s| pb::Skill {
                    code: s.code.into(),
                    name: s.name.into(),
                    area: s.area.into(),
                    target_level: s.target_level,
                })
                .collect(),
        }))
    }

    async fn get_pipeline_status(
        &self,
        request: Request<pb::GetPipelineStatusRequest>,
    ) -> Result<Response<pb::GetPipelineStatusResponse>, Status> {
        let (audience, _k, _ticket) = self.admit(&request).await?;
        if audience != Audience::Policy {
            let scope = crate::auth::scope_name(&audience);
            return Err(QueryError::PermissionDenied { scope, action: "read the pipeline status" }.into());
        }
        let (status, reasons) = self.engine.pipeline_status().await.map_err(QueryError::from)?;
        Ok(Response::new(pb::GetPipelineStatusResponse {
            events: status.events,
            dead_letters: status.dead_letters,
            dead_letters_by_reason: reasons
                .into_iter()
                .map(|(reason, count)| pb::DeadLetterCount { reason, count })
                .collect(),
            as_of: status.as_of.map(skills_domain::events::to_timestamp),
        }))
    }

    async fn get_partner_status(
        &self,
        request: Request<pb::GetPartnerStatusRequest>,
    ) -> Result<Response<pb::GetPartnerStatusResponse>, Status> {
        let (audience, _k, _ticket) = self.admit(&request).await?;
        let partner = status_partner(&audience, request.get_ref().partner_id.trim())?;
        let (status, pipeline) = self.engine.partner_status(&partner).await.map_err(QueryError::from)?;
        Ok(Response::new(convert::partner_status(partner, status, pipeline.as_of, chrono::Utc::now())))
    }

    type WatchIndicatorsStream = ReceiverStream<Result<pb::WatchIndicatorsResponse, Status>>;

    async fn watch_indicators(
        &self,
        request: Request<pb::WatchIndicatorsRequest>,
    ) -> Result<Response<Self::WatchIndicatorsStream>, Status> {
        let identity = self.auth.identify(request.metadata())?;
        let address = request.remote_addr().map(|a| a.ip());
        // Held by the stream's task: its slots free when the stream ends.
        let ticket = self.admission.watch(&identity, address)?;
        let lane = self.admission.lane(&identity);
        let k = identity.audience.suppression_k(self.engine.settings().suppression_k);
        let body = request.get_ref();
        let region = request::optional_region(&body.region)?.map(|r| r.code);
        let period = request::period("period", &body.period, self.engine.default_period())?;
        let engine = self.engine.clone();
        let mut changes = engine.subscribe(k);
        let partner = partner_of(&identity.audience).map(str::to_string);
        let update = move |snapshot: Arc<PeriodCells>| region_update(&snapshot, region, k, partner.as_deref());
        // The first update is computed here, within the call's deadline
        // (`request_timeout_ms`); later ones when new data lands.
        changes.borrow_and_update();
        let first = engine.cells(period, &lane, k).await.map_err(QueryError::from)?;
        let (sender, receiver) = mpsc::channel(WATCH_BUFFER);
        let mut last = update(first);
        let _ = sender.try_send(Ok(last.clone()));
        let mut shutdown = self.shutdown.clone();
        let max_age = self.watch_max_age;
        let ends = tokio::time::Instant::now() + max_age;
        // A far-off deadline stands for "never".
        let keepalive = self.watch_keepalive.unwrap_or(Duration::from_secs(86_400 * 365));
        tokio::spawn(async move {
            let _ticket = ticket;
            loop {
                let changed = tokio::select! {
                    _ = shutdown.wait() => return,
                    _ = sender.closed() => return,
                    _ = tokio::time::sleep_until(ends) => {
                        let reconnect = format!("watch stream reached its maximum age of {} s: reconnect", max_age.as_secs());
                        // A client that reads nothing does not hold the
                        // stream (and its ticket) open past its age.
                        let _ = tokio::time::timeout(WATCH_SEND_PATIENCE, sender.send(Err(Status::unavailable(reconnect)))).await;
                        return;
                    }
                    changed = changes.changed() => if changed.is_err() { return } else { true },
                    _ = tokio::time::sleep(keepalive) => false,
                };
                if !changed {
                    // Nothing new for a while: the last state again, from
                    // memory, and only if the client is reading.
                    let _ = sender.try_send(Ok(last.clone()));
                    continue;
                }
                let woken_by = changes.borrow_and_update().version;
                let message =
                    engine.cells(period, &lane, k).await.map(&update).map_err(|e| Status::from(QueryError::from(e)));
                if let Ok(message) = &message {
                    let unchanged = *message == last;
                    tracing::debug!(k, woken_by, unchanged, "watch stream woken");
                    if unchanged {
                        // Woken with nothing new for this stream (another
                        // year's data, a policy caller woken twice for
                        // one version: `IndicatorEngine::refresh`).
                        continue;
                    }
                    last = message.clone();
                }
                tokio::select! {
                    sent = sender.send(message) => if sent.is_err() { return },
                    _ = shutdown.wait() => return,
                    _ = tokio::time::sleep_until(ends) => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}
