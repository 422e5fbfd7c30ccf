use super::*;
use crate::facts::{AssessmentFact, DemandFact, EnrolmentFact, Groups, phase, status};
use chrono::{DateTime, Utc};

fn at(text: &str) -> i64 {
    format!("{text}T12:00:00Z").parse::<DateTime<Utc>>().unwrap().timestamp()
}

fn enrolment(id: &str, course: &str, skill: &str, region: &str, when: &str, state: i32) -> EnrolmentFact {
    EnrolmentFact {
        event_id: id.into(),
        skill: skill.into(),
        learner: "L".into(),
        course_id: course.into(),
        region: region.into(),
        occurred_at: at(when),
        status: state,
        planned_end: None,
        certified_level: None,
        at_target: false,
        profile: Some(Groups { woman: true, ..Groups::default() }),
    }
}

fn assessment(id: &str, phase: i32, level: u32, region: &str, when: &str) -> AssessmentFact {
    AssessmentFact {
        event_id: id.into(),
        learner: "L".into(),
        skill: "3.4".into(),
        region: region.into(),
        occurred_at: at(when),
        framework: 1,
        level,
        phase,
    }
}

fn tally_of(
    tallies: &std::collections::BTreeMap<CellKey, CellTally>,
    period: Period,
    region: &str,
    skill: &str,
) -> CellTally {
    tallies.get(&CellKey::new(period, region, skill)).cloned().unwrap_or_default()
}

#[test]
fn a_learner_on_two_skills_counts_once_in_the_whole_region() {
    let facts = [
        enrolment("e1", "c1", "3.4", "11", "2025-02-01", status::ENROLLED),
        enrolment("e1", "c1", "2.1", "11", "2025-02-01", status::ENROLLED),
    ];
    let tallies = learner_tallies(&facts, &[], &[Period::Year(2025)]);
    let region = tally_of(&tallies, Period::Year(2025), "11", ALL_SKILLS);
    assert_eq!((region.learners, region.enrolled, region.active), (1, 1, 1));
    assert_eq!(region.enrolled_groups[0], 1, "a woman");
    assert_eq!(tally_of(&tallies, Period::Year(2025), "11", "3.4").enrolled, 1);
    assert_eq!(tally_of(&tallies, Period::Year(2025), "11", "2.1").enrolled, 1);
}

#[test]
fn the_stock_follows_the_latest_status_and_its_region() {
    let mut start = enrolment("e2", "c1", "3.4", "84", "2025-03-01", status::STARTED);
    start.planned_end = Some(at("2025-11-15"));
    let facts = [
        enrolment("e1", "c1", "3.4", "11", "2025-02-01", status::ENROLLED),
        start,
        enrolment("e3", "c1", "3.4", "84", "2025-06-10", status::DROPPED_OUT),
    ];
    let months = Period::Month(2025, 1).through(Period::Month(2025, 7));
    let tallies = learner_tallies(&facts, &[], &months);
    assert!(tally_of(&tallies, Period::Month(2025, 1), "11", "3.4").is_empty(), "nothing before the first event");
    let february = tally_of(&tallies, Period::Month(2025, 2), "11", "3.4");
    assert_eq!((february.learners, february.active), (1, 1));
    assert!(february.finishing.is_empty(), "no planned end yet");
    let april = tally_of(&tallies, Period::Month(2025, 4), "84", "3.4");
    assert_eq!((april.learners, april.active, april.enrolled), (1, 1, 0), "carried, in the latest region");
    let november = month_index(DateTime::from_timestamp(at("2025-11-15"), 0).unwrap());
    assert_eq!(april.finishing.get(&november), Some(&1));
    let counters = april.counters("84", Some("3.4"), november);
    assert_eq!(counters.supply.active_finishing, 0, "a horizon ending at November's start excludes it");
    assert_eq!(april.counters("84", Some("3.4"), november + 1).supply.active_finishing, 1);
    let june = tally_of(&tallies, Period::Month(2025, 6), "84", "3.4");
    assert_eq!((june.learners, june.active, june.dropped_out), (1, 0, 1));
    assert!(tally_of(&tallies, Period::Month(2025, 7), "84", "3.4").is_empty());
}

#[test]
fn a_gain_needs_a_final_in_the_period_and_an_initial_before_its_end() {
    let facts = [
        assessment("a1", phase::INITIAL, 2, "11", "2024-12-01"),
        assessment("a0", phase::INITIAL, 1, "11", "2025-03-01"),
        assessment("a2", phase::FINAL, 4, "11", "2025-05-01"),
        assessment("a3", phase::FINAL, 5, "84", "2025-06-01"),
    ];
    let tallies = learner_tallies(&[], &facts, &[Period::Year(2025), Period::Quarter(2025, 2), Period::Year(2024)]);
    let year = tally_of(&tallies, Period::Year(2025), "84", "3.4");
    assert_eq!((year.gain_sum, year.gain_learners), (3, 1), "latest final minus earliest initial");
    assert_eq!(year.learners, 1, "an assessed learner is one of the cell's learners (issue 14)");
    let elsewhere = tally_of(&tallies, Period::Year(2025), "11", "3.4");
    assert_eq!((elsewhere.gain_learners, elsewhere.learners), (0, 1), "the pair counts in the final's region");
    assert_eq!(tally_of(&tallies, Period::Year(2025), "84", ALL_SKILLS).gain_learners, 1);
    let before = tally_of(&tallies, Period::Year(2024), "11", "3.4");
    assert_eq!((before.gain_learners, before.learners), (0, 1), "no final in 2024, an initial assessment");
}

#[test]
fn tallies_add_and_subtract_back_to_nothing() {
    let facts = [enrolment("e1", "c1", "3.4", "11", "2025-02-01", status::ENROLLED)];
    let tally = tally_of(&learner_tallies(&facts, &[], &[Period::Year(2025)]), Period::Year(2025), "11", "3.4");
    let mut sum = CellTally::default();
    sum.add(&tally, 1);
    sum.add(&tally, 1);
    assert_eq!(sum.learners, 2);
    sum.add(&tally, -1);
    assert_eq!(sum, tally);
    sum.add(&tally, -1);
    assert!(sum.is_empty());
    assert_eq!(CellTally::from_scalars(tally.scalars()).learners, 1);
}

#[test]
fn a_demand_fact_counts_in_its_month_quarter_and_year() {
    let fact = DemandFact {
        event_id: "d".into(),
        skill: "3.4".into(),
        region: "11".into(),
        occurred_at: at("2025-05-20"),
        openings: 0,
        hard_to_fill: 0,
    };
    let periods: Vec<Period> = demand_tallies(&fact)
        .into_iter()
        .map(|(key, tally)| {
            assert!(!tally.is_empty(), "a posting of no openings still makes the cell");
            key.period
        })
        .collect();
    assert_eq!(periods, [Period::Month(2025, 5), Period::Quarter(2025, 2), Period::Year(2025)]);
}

#[test]
fn a_fact_touches_the_periods_that_end_after_it() {
    let touched = touched_from(at("2025-11-03"), 2026);
    assert_eq!(touched.len(), 1 + 1 + 2 + 17, "2025, Q4, Nov, Dec, then all of 2026");
    assert!(touched.contains(&Period::Month(2025, 11)) && !touched.contains(&Period::Month(2025, 10)));
    assert!(touched_from(at("2027-01-01"), 2026).is_empty());
}

#[test]
fn windows_map_to_calendar_periods_only() {
    let p = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    assert_eq!(period_of_window(p("2025-04-01T00:00:00Z"), p("2025-07-01T00:00:00Z")), Some(Period::Quarter(2025, 2)));
    assert_eq!(period_of_window(p("2025-01-01T00:00:00Z"), p("2026-01-01T00:00:00Z")), Some(Period::Year(2025)));
    assert_eq!(period_of_window(p("2025-01-01T00:00:00Z"), p("2025-02-01T00:00:00Z")), Some(Period::Month(2025, 1)));
    assert_eq!(period_of_window(p("2025-01-02T00:00:00Z"), p("2025-02-01T00:00:00Z")), None);
    assert_eq!(period_of_window(p("2025-02-01T00:00:00Z"), p("2025-05-01T00:00:00Z")), None);
    assert!(is_month_start(p("2026-07-01T00:00:00Z")) && !is_month_start(p("2026-07-01T00:00:01Z")));
}

#[test]
fn groups_come_from_the_latest_profile_before_the_year_end_whatever_the_event() {
    // The partner sends the profile (a woman jobseeker) on enrolment only;
    // the certification carries none. In July a new profile says she is
    // no longer a jobseeker.
    let mut enrolled = enrolment("e1", "c", "3.4", "84", "2025-01-10", status::ENROLLED);
    enrolled.profile = Some(Groups { woman: true, jobseeker: true, ..Groups::default() });
    let mut started = enrolment("e2", "c", "3.4", "84", "2025-07-01", status::STARTED);
    started.profile = Some(Groups { woman: true, ..Groups::default() });
    let mut certified = enrolment("e3", "c", "3.4", "84", "2025-11-02", status::CERTIFIED);
    certified.profile = None;
    certified.at_target = true;
    let periods = [Period::Quarter(2025, 1), Period::Year(2025), Period::Month(2025, 11)];
    let tallies = learner_tallies(&[enrolled, started, certified], &[], &periods);
    let q1 = tally_of(&tallies, Period::Quarter(2025, 1), "84", "3.4");
    assert_eq!((q1.enrolled_groups[0], q1.enrolled_groups[4]), (1, 0), "the profile as of the year's end, for Q1 too");
    let year = tally_of(&tallies, Period::Year(2025), "84", "3.4");
    assert_eq!((year.enrolled_groups[0], year.enrolled_groups[4]), (1, 0), "the profile as of the year's end");
    assert_eq!(
        (year.certified_groups[0], year.certified_groups[4]),
        (1, 0),
        "certified without a profile, counted a woman"
    );
    let november = tally_of(&tallies, Period::Month(2025, 11), "84", ALL_SKILLS);
    assert_eq!(november.certified_groups[0], 1);
}

#[test]
fn a_learner_without_any_profile_is_in_no_group() {
    let mut enrolled = enrolment("e1", "c", "3.4", "84", "2025-01-10", status::ENROLLED);
    enrolled.profile = None;
    let tallies = learner_tallies(&[enrolled], &[], &[Period::Month(2025, 1)]);
    let january = tally_of(&tallies, Period::Month(2025, 1), "84", "3.4");
    assert_eq!((january.enrolled, january.enrolled_groups), (1, [0; 5]));
}

#[test]
fn a_profile_reaches_back_to_the_start_of_its_year() {
    assert_eq!(profile_reach(at("2025-07-01"), false), at("2025-07-01"));
    assert_eq!(
        profile_reach(at("2025-07-01"), true),
        "2025-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap().timestamp()
    );
}
