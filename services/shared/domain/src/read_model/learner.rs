//! What one learner's facts give each cell of each period, by the same
//! definitions the fact queries use (see METHODOLOGY in the README):
//! - flows: enrolment transitions with event time in the period;
//! - active: a (learner, course, skill) timeline whose latest status before
//!   the period's end (by event time, then status, then event id) is
//!   enrolled or started, counted in that latest event's region;
//! - learners: any transition or assessment in the period, or active at
//!   its end (assessments in the assessment's region);
//! - gain: per (skill, framework), the latest final assessment in the
//!   period minus the earliest initial one before its end, in the final's
//!   region.
//!
//! A whole-region cell (`ALL_SKILLS`) counts the learner once across skills.

use super::{ALL_SKILLS, CellKey, CellTally, month_index};
use crate::Period;
use crate::facts::{AssessmentFact, DemandFact, EnrolmentFact, phase, status};
use chrono::{DateTime, Datelike};
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

/// One learner's flags in one cell of one period.
#[derive(Debug, Default)]
struct Flags {
    in_flows: bool,
    assessed: bool,
    enrolled: bool,
    completed: bool,
    dropped_out: bool,
    certified: bool,
    certified_at_target: bool,
    enrolled_groups: [bool; 5],
    certified_groups: [bool; 5],
    active: bool,
    earliest_planned_end: Option<i64>,
    gain_sum: i64,
    gain_pairs: i64,
}

impl Flags {
    fn tally(&self) -> CellTally {
        let one = |flag: bool| i64::from(flag);
        let mut tally = CellTally {
            learners: one(self.in_flows || self.assessed || self.active),
            enrolled: one(self.enrolled),
            active: one(self.active),
            completed: one(self.completed),
            dropped_out: one(self.dropped_out),
            certified: one(self.certified),
            certified_at_target: one(self.certified_at_target),
            gain_sum: self.gain_sum,
            gain_learners: self.gain_pairs,
            enrolled_groups: self.enrolled_groups.map(one),
            certified_groups: self.certified_groups.map(one),
            ..CellTally::default()
        };
        if let Some(planned_end) = self.earliest_planned_end.filter(|_| self.active) {
            let month = DateTime::from_timestamp(planned_end, 0).map_or(i32::MIN, month_index);
            tally.finishing.insert(month, 1);
        }
        tally
    }
}

/// The learner's groups in every period of a year: from the latest profile
/// sent before the year's end (by event time, then the larger event id),
/// whatever the event's status; none without a profile by then. So a
/// partner that sends the profile only on enrolment has its certified
/// learners in their groups, and a year's months, quarters and the year
/// count the same people in each group (a profile sent later in the year
/// changes the whole year: `profile_reach`).
fn groups_at(enrolments: &[EnrolmentFact], end: i64) -> [bool; 5] {
    let latest = enrolments
        .iter()
        .filter(|f| f.occurred_at < end && f.profile.is_some())
        .max_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
    let Some(g) = latest.and_then(|f| f.profile) else { return [false; 5] };
    [g.woman, g.priority_neighbourhood, g.rural, g.under_26, g.jobseeker]
}

type Cells<'a> = BTreeMap<(&'a str, &'a str), Flags>;

/// The learner's flags in a skill's cell and in the whole-region cell.
fn each_cell<'a>(cells: &mut Cells<'a>, region: &'a str, skill: &'a str, mut set: impl FnMut(&mut Flags)) {
    for cell_skill in [skill, ALL_SKILLS] {
        set(cells.entry((region, cell_skill)).or_default());
    }
}

/// The cells one learner's facts give in each of `periods`. Facts must be
/// one learner's, each (event, skill) once.
pub fn learner_tallies(
    enrolments: &[EnrolmentFact],
    assessments: &[AssessmentFact],
    periods: &[Period],
) -> BTreeMap<CellKey, CellTally> {
    let mut tallies = BTreeMap::new();
    for period in periods {
        let start = period.start().timestamp();
        let end = period.end().timestamp();
        let mut cells = Cells::new();
        flows(enrolments, start, end, &mut cells);
        stock(enrolments, end, &mut cells);
        gains(assessments, start, end, &mut cells);
        for ((region, skill), flags) in cells {
            let tally = flags.tally();
            if !tally.is_empty() {
                tallies.insert(CellKey::new(*period, region, skill), tally);
            }
        }
    }
    tallies
}

/// Transitions with event time in [start, end).
fn flows<'a>(enrolments: &'a [EnrolmentFact], start: i64, end: i64, cells: &mut Cells<'a>) {
    let year_end = DateTime::from_timestamp(start, 0).map_or(end, |at| Period::Year(at.year()).end().timestamp());
    let groups = groups_at(enrolments, year_end);
    for fact in enrolments.iter().filter(|f| f.occurred_at >= start && f.occurred_at < end) {
        each_cell(cells, &fact.region, &fact.skill, |flags| {
            flags.in_flows = true;
            match fact.status {
                status::ENROLLED => {
                    flags.enrolled = true;
                    for (flag, member) in flags.enrolled_groups.iter_mut().zip(groups) {
                        *flag |= member;
                    }
                }
                status::COMPLETED => flags.completed = true,
                status::DROPPED_OUT => flags.dropped_out = true,
                status::CERTIFIED => {
                    flags.completed = true;
                    flags.certified = true;
                    flags.certified_at_target |= fact.at_target;
                    // "Certified" in the inclusion shares is at target too.
                    if fact.at_target {
                        for (flag, member) in flags.certified_groups.iter_mut().zip(groups) {
                            *flag |= member;
                        }
                    }
                }
                _ => {}
            }
        });
    }
}

/// Timelines active at `end`: the latest transition before it, per course
/// and skill, is enrolled or started.
fn stock<'a>(enrolments: &'a [EnrolmentFact], end: i64, cells: &mut Cells<'a>) {
    let mut latest: HashMap<(&str, &str), &EnrolmentFact> = HashMap::new();
    for fact in enrolments.iter().filter(|f| f.occurred_at < end) {
        let order = |f: &'a EnrolmentFact| (f.occurred_at, f.status, Reverse(f.event_id.as_str()));
        latest
            .entry((&fact.course_id, &fact.skill))
            .and_modify(|current| {
                if order(fact) > order(current) {
                    *current = fact;
                }
            })
            .or_insert(fact);
    }
    for fact in latest.into_values() {
        if fact.status != status::ENROLLED && fact.status != status::STARTED {
            continue;
        }
        let planned_end = fact.planned_end.filter(|at| *at > 0);
        each_cell(cells, &fact.region, &fact.skill, |flags| {
            flags.active = true;
            if let Some(at) = planned_end {
                flags.earliest_planned_end = Some(flags.earliest_planned_end.map_or(at, |e| e.min(at)));
            }
        });
    }
}

/// Gains of (skill, framework) pairs whose final assessment is in [start, end).
fn gains<'a>(assessments: &'a [AssessmentFact], start: i64, end: i64, cells: &mut Cells<'a>) {
    let mut finals: HashMap<(&str, i32), &AssessmentFact> = HashMap::new();
    let mut initials: HashMap<(&str, i32), &AssessmentFact> = HashMap::new();
    for fact in assessments.iter().filter(|f| f.occurred_at >= start && f.occurred_at < end) {
        each_cell(cells, &fact.region, &fact.skill, |flags| flags.assessed = true);
    }
    for fact in assessments.iter().filter(|f| f.occurred_at < end) {
        let key = (fact.skill.as_str(), fact.framework);
        if fact.phase == phase::FINAL && fact.occurred_at >= start {
            let order = |f: &AssessmentFact| (f.occurred_at, Reverse(f.event_id.clone()));
            let current = finals.entry(key).or_insert(fact);
            if order(fact) > order(current) {
                *current = fact;
            }
        } else if fact.phase == phase::INITIAL {
            let current = initials.entry(key).or_insert(fact);
            if (fact.occurred_at, &fact.event_id) < (current.occurred_at, &current.event_id) {
                *current = fact;
            }
        }
    }
    for (key, last) in finals {
        let Some(first) = initials.get(&key) else { continue };
        let gain = i64::from(last.level) - i64::from(first.level);
        each_cell(cells, &last.region, &last.skill, |flags| {
            flags.gain_sum += gain;
            flags.gain_pairs += 1;
        });
    }
}

/// The earliest instant whose periods an event can change: its own time,
/// or for an enrolment carrying a profile the start of its year (the
/// profile sets the groups of the whole year).
pub fn profile_reach(occurred_at: i64, carries_profile: bool) -> i64 {
    match DateTime::from_timestamp(occurred_at, 0) {
        Some(at) if carries_profile => Period::Year(at.year()).start().timestamp(),
        _ => occurred_at,
    }
}

/// What one demand fact adds: its month, quarter and year, in its skill's cell.
pub fn demand_tallies(fact: &DemandFact) -> Vec<(CellKey, CellTally)> {
    let Some(at) = DateTime::from_timestamp(fact.occurred_at, 0) else { return Vec::new() };
    let tally = CellTally {
        openings: i64::from(fact.openings),
        hard_to_fill: i64::from(fact.hard_to_fill),
        postings: 1,
        ..CellTally::default()
    };
    [crate::Granularity::Month, crate::Granularity::Quarter, crate::Granularity::Year]
        .into_iter()
        .map(|granularity| {
            (CellKey::new(Period::containing(granularity, at), &fact.region, &fact.skill), tally.clone())
        })
        .collect()
}
