//! Domain values to wire types.

use crate::engine::PeriodCells;
use skills_domain::Period;
use skills_domain::events::to_timestamp;
use skills_domain::indicators::{CellCounters, INCLUSION_GROUPS, InclusionShare, PublishedCell};
use skills_proto::v1 as pb;
use skills_store::StoreStatus;

pub fn cell(published: PublishedCell, period: Period) -> pb::CellIndicators {
    pb::CellIndicators {
        region: published.region,
        skill: published.skill.unwrap_or_default(),
        period: period.to_string(),
        suppressed: published.suppressed,
        learners: published.learners,
        enrolled: published.enrolled,
        active: published.active,
        completed: published.completed,
        dropped_out: published.dropped_out,
        certified: published.certified,
        completion_rate: published.completion_rate,
        mean_proficiency_gain: published.mean_proficiency_gain,
        pipeline: published.pipeline,
        openings: published.openings,
        hard_to_fill_share: published.hard_to_fill_share,
        talent_gap: published.talent_gap,
        shortage_ratio: published.shortage_ratio,
        shortage_score: published.shortage_score.map(u32::from),
        own: None,
    }
}

/// A partner's own part of a figure (zeros when it has none there).
pub fn contribution(own: Option<&CellCounters>, with_groups: bool) -> pb::Contribution {
    let Some(own) = own else {
        return contribution(Some(&CellCounters::default()), with_groups);
    };
    let s = &own.supply;
    let groups = match with_groups {
        false => Vec::new(),
        true => INCLUSION_GROUPS
            .iter()
            .enumerate()
            .map(|(index, group)| pb::GroupContribution {
                group: group.to_string(),
                enrolled: s.enrolled_groups.in_order()[index],
                certified: s.certified_groups.in_order()[index],
            })
            .collect(),
    };
    pb::Contribution {
        learners: s.learners,
        enrolled: s.enrolled,
        active: s.active,
        completed: s.completed,
        dropped_out: s.dropped_out,
        certified: s.certified_at_target,
        finishing: s.active_finishing,
        openings: own.demand.openings,
        hard_to_fill: own.demand.hard_to_fill,
        groups,
    }
}

pub fn meta(
    status: &StoreStatus,
    complete: bool,
    period: Period,
    k: u32,
    cells: &[pb::CellIndicators],
) -> pb::ResponseMeta {
    pb::ResponseMeta {
        as_of: status.as_of.map(to_timestamp),
        complete,
        suppression_k: k,
        suppressed_cells: cells.iter().filter(|c| c.suppressed).count() as u32,
        period: period.to_string(),
    }
}

pub fn meta_of(snapshot: &PeriodCells, k: u32, cells: &[pb::CellIndicators]) -> pb::ResponseMeta {
    meta(&snapshot.status, snapshot.complete, snapshot.period, k, cells)
}

pub fn inclusion_share(share: InclusionShare) -> pb::InclusionShare {
    pb::InclusionShare {
        suppressed: false,
        group: share.group.to_string(),
        share_enrolled: share.share_enrolled,
        share_certified: share.share_certified,
        target: share.target,
        distance_enrolled: share.distance_enrolled,
        distance_certified: share.distance_certified,
    }
}

/// A group's share with its values withheld.
pub fn withheld_share(share: InclusionShare) -> pb::InclusionShare {
    pb::InclusionShare { group: share.group.to_string(), target: share.target, suppressed: true, ..Default::default() }
}

/// A partner's status as served: `lag_seconds` counts from its newest
/// counted event's ingestion to `now` (0 when it has none).
pub fn partner_status(
    partner: String,
    status: skills_store::PartnerStatus,
    pipeline_as_of: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> pb::GetPartnerStatusResponse {
    let dead_letters_by_reason: Vec<pb::PartnerDeadLetters> = status
        .dead_letters
        .into_iter()
        .map(|letters| pb::PartnerDeadLetters {
            reason: letters.reason,
            count: letters.count,
            examples: letters
                .examples
                .into_iter()
                .map(|example| pb::DeadLetterExample {
                    source_topic: example.source_topic,
                    source_partition: example.source_partition,
                    source_offset: example.source_offset,
                    message: example.message,
                    recorded_at: example.recorded_at.map(to_timestamp),
                })
                .collect(),
        })
        .collect();
    pb::GetPartnerStatusResponse {
        partner_id: partner,
        events_counted: status.counted,
        duplicates: status.duplicates,
        dead_letters: dead_letters_by_reason.iter().map(|letters| letters.count).sum(),
        dead_letters_by_reason,
        last_received_at: status.last_received_at.map(to_timestamp),
        last_occurred_at: status.last_occurred_at.map(to_timestamp),
        lag_seconds: status.last_received_at.map_or(0, |at| (now - at).num_seconds().max(0)),
        pipeline_as_of: pipeline_as_of.map(to_timestamp),
    }
}
