//! The synthetic demo data set: realistic, deterministic, and sent through
//! the same ingestion path as partner data. Shares are calibrated on the
//! brief (about 26% women, 19% from priority neighbourhoods, 8-month
//! programmes); regions are weighted by population; labour demand leans to
//! development, data and security jobs in the big metropolitan regions,
//! so the shortage table has something to say. A few duplicates and bad
//! events are mixed in, as real partners send them.

use chrono::{DateTime, Duration, Months, TimeZone, Utc};
use skills_bus::{Message, headers, topics};
use skills_proto::Message as _;
use skills_proto::v1 as pb;

/// The seeded period: the years 2024 and 2025.
pub fn first_day() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single().expect("valid date")
}

pub fn last_day() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 12, 31, 0, 0, 0).single().expect("valid date")
}

/// The year the demo reports on.
pub const DEMO_PERIOD: &str = "2025";

/// (region code, population in hundred thousands).
const REGION_WEIGHTS: [(&str, u32); 18] = [
    ("01", 4),
    ("02", 4),
    ("03", 3),
    ("04", 9),
    ("06", 3),
    ("11", 123),
    ("24", 26),
    ("27", 28),
    ("28", 33),
    ("32", 60),
    ("44", 56),
    ("52", 39),
    ("53", 34),
    ("75", 61),
    ("76", 60),
    ("84", 81),
    ("93", 51),
    ("94", 4),
];

struct Programme {
    code: &'static str,
    skills: &'static [&'static str],
    weight: u32,
    /// Share of women, in percent.
    women: u32,
}

const PROGRAMMES: [Programme; 9] = [
    Programme { code: "dev-web", skills: &["3.4", "3.1", "5.1"], weight: 26, women: 20 },
    Programme { code: "support", skills: &["5.1", "4.1", "2.1"], weight: 16, women: 22 },
    Programme { code: "data", skills: &["1.1", "1.2", "1.3"], weight: 12, women: 30 },
    Programme { code: "cyber", skills: &["4.1", "4.2", "5.1"], weight: 8, women: 15 },
    Programme { code: "mediation", skills: &["2.1", "2.2", "2.3", "5.4"], weight: 12, women: 48 },
    Programme { code: "design", skills: &["3.1", "3.2", "3.3"], weight: 9, women: 40 },
    Programme { code: "project", skills: &["2.4", "5.2", "5.3"], weight: 7, women: 32 },
    Programme { code: "community", skills: &["2.2", "2.5", "2.6"], weight: 6, women: 45 },
    Programme { code: "green-it", skills: &["4.3", "4.4"], weight: 4, women: 35 },
];

/// (ROME code, openings per hundred thousand inhabitants per month).
const DEMAND_BY_OCCUPATION: [(&str, u32); 12] = [
    ("M1805", 20),
    ("M1810", 6),
    ("M1802", 8),
    ("M1801", 5),
    ("M1806", 5),
    ("M1803", 1),
    ("M1804", 3),
    ("M1403", 6),
    ("I1401", 6),
    ("E1104", 3),
    ("E1101", 2),
    ("K2111", 2),
];

/// Regions where digital employers concentrate get more openings per head.
fn demand_multiplier(region: &str) -> u32 {
    match region {
        "11" => 30,
        "84" | "76" => 16,
        "93" | "52" | "53" => 12,
        "04" | "01" | "02" | "03" | "06" => 11,
        _ => 8,
    }
}

/// SplitMix64: tiny, fast, and the same on every platform and version.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// An independent generator for stream `stream` of a seed.
    pub fn for_stream(seed: u64, stream: u64) -> Self {
        let mut mixer = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        Rng(mixer.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with the given probability in percent.
    pub fn percent(&mut self, p: u32) -> bool {
        self.below(100) < u64::from(p)
    }

    fn weighted<'a, T>(&mut self, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
        let total: u64 = items.iter().map(|i| u64::from(weight(i))).sum();
        let mut pick = self.below(total);
        for item in items {
            let w = u64::from(weight(item));
            if pick < w {
                return item;
            }
            pick -= w;
        }
        items.last().expect("non-empty")
    }
}

/// Messages to send, with what they hold.
pub struct SeedSet {
    pub messages: Vec<(&'static str, Message)>,
    /// Distinct valid events.
    pub valid_events: usize,
    /// Extra copies of valid events (same event id).
    pub duplicates: usize,
    /// Events a partner got wrong, which must be dead-lettered.
    pub invalid: usize,
}

struct Builder {
    rng: Rng,
    messages: Vec<(&'static str, Message)>,
    valid_events: usize,
    duplicates: usize,
    invalid: usize,
}

fn event_id(kind: &str, a: usize, b: usize) -> String {
    let name = format!("skills-seed:{kind}:{a}:{b}");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes()).to_string()
}

fn timestamp(t: DateTime<Utc>) -> Option<skills_proto::Timestamp> {
    Some(skills_domain::events::to_timestamp(t))
}

impl Builder {
    /// Alternates encodings so both decoders are exercised: every third
    /// event goes as JSON, the rest as protobuf.
    fn push(&mut self, topic: &'static str, envelope: pb::EventEnvelope) {
        let message = if self.valid_events.is_multiple_of(3) {
            Message::new(to_json(&envelope).into_bytes()).with_header(headers::CONTENT_TYPE, "application/json")
        } else {
            Message::new(envelope.encode_to_vec()).with_header(headers::CONTENT_TYPE, "application/x-protobuf")
        };
        self.valid_events += 1;
        if self.rng.percent(1) {
            self.duplicates += 1;
            self.messages.push((topic, message.clone()));
        }
        self.messages.push((topic, message));
    }

    fn push_invalid(&mut self, topic: &'static str, payload: Vec<u8>) {
        self.invalid += 1;
        self.messages.push((topic, Message::new(payload)));
    }
}

pub fn synthetic(learners: usize, seed: u64) -> SeedSet {
    synthetic_range(0..learners, seed)
}

/// The synthetic data set of learners numbered `learners` (their ids and
/// event ids follow from the number): a later range adds new learners and
/// new events, where the same range again only repeats events.
pub fn synthetic_range(learners: std::ops::Range<usize>, seed: u64) -> SeedSet {
    let mut builder = Builder { rng: Rng::new(seed), messages: Vec::new(), valid_events: 0, duplicates: 0, invalid: 0 };
    // Each learner, and the postings, draw from a generator of their own,
    // so an event id always carries the same content whatever the range
    // it was sent in (a repeat is a true duplicate).
    for learner in learners {
        builder.rng = Rng::for_stream(seed, learner as u64);
        add_learner(&mut builder, learner);
        if learner % 1000 == 999 {
            add_partner_mistakes(&mut builder, learner);
        }
    }
    builder.rng = Rng::for_stream(seed, u64::MAX);
    add_demand(&mut builder);
    SeedSet {
        messages: builder.messages,
        valid_events: builder.valid_events,
        duplicates: builder.duplicates,
        invalid: builder.invalid,
    }
}

fn add_learner(b: &mut Builder, learner: usize) {
    let (region, _) = *b.rng.weighted(&REGION_WEIGHTS, |(_, w)| *w);
    let programme = b.rng.weighted(&PROGRAMMES, |p| p.weight);
    let span_days = (last_day() - first_day()).num_days() as u64 - 60;
    let start = first_day() + Duration::days(30 + b.rng.below(span_days) as i64);
    let enrolled_at = start - Duration::days(b.rng.below(30) as i64 + 1);
    let planned_end = start + Months::new(8);
    let profile = pb::LearnerProfile {
        gender: if b.rng.percent(programme.women) { pb::Gender::Female as i32 } else { pb::Gender::Male as i32 },
        age_band: match b.rng.below(100) {
            0..35 => pb::AgeBand::Under26 as i32,
            35..80 => pb::AgeBand::From26To44 as i32,
            _ => pb::AgeBand::From45 as i32,
        },
        priority_neighbourhood: b.rng.percent(19),
        rural_resident: b.rng.percent(if region == "11" { 3 } else { 22 }),
        employment_status: if b.rng.percent(55) {
            pb::EmploymentStatus::Jobseeker as i32
        } else {
            pb::EmploymentStatus::Employed as i32
        },
    };
    let partner = format!("gen-partner-{region}");
    let learner_id = format!("learner-{learner:07}");
    let course_id = format!("{}-{region}-{}", programme.code, start.format("%Y%m"));
    let skills: Vec<String> = programme.skills.iter().map(|s| s.to_string()).collect();
    let place = pb::Place { code: Some(pb::place::Code::Region(region.to_string())) };
    let mut step = 0;
    let mut enrolment =
        |b: &mut Builder, status: pb::EnrolmentStatus, at: DateTime<Utc>, certified_level: Option<u32>| {
            step += 1;
            b.push(
                topics::ENROLMENTS,
                pb::EventEnvelope {
                    event_id: event_id("enrolment", learner, step),
                    occurred_at: timestamp(at),
                    partner_id: partner.clone(),
                    schema_version: 1,
                    payload: Some(pb::event_envelope::Payload::Enrolment(pb::Enrolment {
                        learner_id: learner_id.clone(),
                        course_id: course_id.clone(),
                        programme: "GEN".into(),
                        skills: skills.clone(),
                        place: Some(place.clone()),
                        status: status as i32,
                        planned_end: timestamp(planned_end),
                        profile: Some(profile),
                        satisfaction: None,
                        certified_level,
                    })),
                },
            );
        };
    enrolment(b, pb::EnrolmentStatus::Enrolled, enrolled_at, None);
    enrolment(b, pb::EnrolmentStatus::Started, start, None);

    let initial_level = 1 + b.rng.below(3) as u32;
    let assessed_skill = programme.skills[0];
    let assessment = |b: &mut Builder, n: usize, phase: pb::AssessmentPhase, level: u32, at: DateTime<Utc>| {
        b.push(
            topics::ASSESSMENTS,
            pb::EventEnvelope {
                event_id: event_id("assessment", learner, n),
                occurred_at: timestamp(at),
                partner_id: "assessment-platform".into(),
                schema_version: 1,
                payload: Some(pb::event_envelope::Payload::Assessment(pb::Assessment {
                    learner_id: format!("{partner}/{learner_id}"),
                    skill: assessed_skill.into(),
                    framework: pb::Framework::Digcomp22 as i32,
                    level,
                    score: 20.0 + 10.0 * level as f64,
                    phase: phase as i32,
                    place: Some(place.clone()),
                })),
            },
        );
    };
    assessment(b, 1, pb::AssessmentPhase::Initial, initial_level, start + Duration::days(2));

    let drops_out = b.rng.percent(24);
    let finish = planned_end + Duration::days(b.rng.below(30) as i64 - 15);
    if drops_out {
        let left_at = start + Duration::days(14 + b.rng.below(200) as i64);
        if left_at < last_day() {
            enrolment(b, pb::EnrolmentStatus::DroppedOut, left_at, None);
        }
    } else if finish < last_day() {
        enrolment(b, pb::EnrolmentStatus::Completed, finish, None);
        let final_level = (initial_level + 1 + b.rng.below(4) as u32).min(8);
        assessment(b, 2, pb::AssessmentPhase::Final, final_level, finish - Duration::days(3));
        if b.rng.percent(68) {
            let certified_at = finish + Duration::days(10 + b.rng.below(30) as i64);
            if certified_at < last_day() {
                let level = 3 + b.rng.below(4) as u32;
                enrolment(b, pb::EnrolmentStatus::Certified, certified_at, Some(level));
            }
        }
    }
}

/// What partners get wrong: unknown codes, impossible levels, clocks in the
/// future, truncated bytes.
fn add_partner_mistakes(b: &mut Builder, learner: usize) {
    let unknown_skill = serde_json::json!({
        "event_id": event_id("mistake", learner, 1), "occurred_at": "2025-03-01T10:00:00Z",
        "partner_id": "gen-partner-11", "schema_version": 1,
        "enrolment": {"learner_id": "x", "course_id": "c", "skills": ["6.1"], "place": {"region": "11"}, "status": "ENROLLED"}
    });
    b.push_invalid(topics::ENROLMENTS, unknown_skill.to_string().into_bytes());
    let future = serde_json::json!({
        "event_id": event_id("mistake", learner, 2), "occurred_at": "2099-01-01T00:00:00Z",
        "partner_id": "assessment-platform", "schema_version": 1,
        "assessment": {"learner_id": "x", "skill": "1.1", "framework": "DIGCOMP_2_2", "level": 3, "score": 50, "phase": "INITIAL", "place": {"department": "59"}}
    });
    b.push_invalid(topics::ASSESSMENTS, future.to_string().into_bytes());
    b.push_invalid(topics::DEMAND, vec![0x0a, 0xff, 0x01]);
}

fn add_demand(b: &mut Builder) {
    let mut month = first_day();
    let mut n = 0;
    while month < last_day() {
        for (region, population) in REGION_WEIGHTS {
            for (rome, per_head) in DEMAND_BY_OCCUPATION {
                // Tenths of an opening, then a ±30% draw rounded at random so
                // small regions still see occasional openings.
                let tenths = u64::from(population * per_head * demand_multiplier(region)) / 100;
                let openings = ((tenths * (70 + b.rng.below(61)) + b.rng.below(1000)) / 1000) as u32;
                if openings == 0 {
                    continue;
                }
                let hard = (openings as u64 * (25 + b.rng.below(40)) / 100) as u32;
                n += 1;
                let day = Duration::days(b.rng.below(27) as i64);
                b.push(
                    topics::DEMAND,
                    pb::EventEnvelope {
                        event_id: event_id("demand", n, 0),
                        occurred_at: timestamp(month + day),
                        partner_id: "job-board".into(),
                        schema_version: 1,
                        payload: Some(pb::event_envelope::Payload::LabourDemand(pb::LabourDemand {
                            source: "job-board".into(),
                            place: Some(pb::Place { code: Some(pb::place::Code::Region(region.to_string())) }),
                            target: Some(pb::labour_demand::Target::RomeCode(rome.to_string())),
                            openings,
                            hard_to_fill: hard,
                        })),
                    },
                );
            }
        }
        month = month + Months::new(1);
    }
}

/// The JSON form of an envelope, as the README documents it.
pub fn to_json(envelope: &pb::EventEnvelope) -> String {
    use pb::event_envelope::Payload;
    let time = |t: &Option<skills_proto::Timestamp>| t.as_ref().map(|t| t.to_string());
    let place = |p: &Option<pb::Place>| match p.as_ref().and_then(|p| p.code.as_ref()) {
        Some(pb::place::Code::Region(c)) => serde_json::json!({ "region": c }),
        Some(pb::place::Code::Department(c)) => serde_json::json!({ "department": c }),
        Some(pb::place::Code::Commune(c)) => serde_json::json!({ "commune": c }),
        None => serde_json::Value::Null,
    };
    let mut json = serde_json::json!({
        "event_id": envelope.event_id,
        "occurred_at": time(&envelope.occurred_at),
        "partner_id": envelope.partner_id,
        "schema_version": envelope.schema_version,
    });
    match &envelope.payload {
        Some(Payload::Enrolment(e)) => {
            json["enrolment"] = serde_json::json!({
                "learner_id": e.learner_id, "course_id": e.course_id, "programme": e.programme,
                "skills": e.skills, "place": place(&e.place), "status": e.status,
                "planned_end": time(&e.planned_end), "certified_level": e.certified_level,
                "profile": e.profile.map(|p| serde_json::json!({
                    "gender": p.gender, "age_band": p.age_band, "priority_neighbourhood": p.priority_neighbourhood,
                    "rural_resident": p.rural_resident, "employment_status": p.employment_status,
                })),
            });
        }
        Some(Payload::Assessment(a)) => {
            json["assessment"] = serde_json::json!({
                "learner_id": a.learner_id, "skill": a.skill, "framework": a.framework, "level": a.level,
                "score": a.score, "phase": a.phase, "place": place(&a.place),
            });
        }
        Some(Payload::LabourDemand(d)) => {
            let mut demand = serde_json::json!({
                "source": d.source, "place": place(&d.place), "openings": d.openings, "hard_to_fill": d.hard_to_fill,
            });
            match &d.target {
                Some(pb::labour_demand::Target::Skill(s)) => demand["skill"] = serde_json::json!(s),
                Some(pb::labour_demand::Target::RomeCode(r)) => demand["rome_code"] = serde_json::json!(r),
                None => {}
            }
            json["labour_demand"] = demand;
        }
        None => {}
    }
    json.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use skills_domain::events::{ContentType, IngestPolicy, normalize};
    use skills_domain::pseudonym::{Pseudonymiser, SecretKey};

    #[test]
    fn the_seed_is_deterministic_and_mostly_valid() {
        let a = synthetic(2_000, 7);
        let b = synthetic(2_000, 7);
        assert_eq!(a.messages.len(), b.messages.len());
        assert_eq!(a.messages[100].1, b.messages[100].1);
        assert_eq!(a.messages.len(), a.valid_events + a.duplicates + a.invalid);
        assert_eq!(a.invalid, 6);

        let p = Pseudonymiser::single(SecretKey::from_bytes(vec![1; 32]).unwrap(), 1);
        let now = "2026-06-01T00:00:00Z".parse().unwrap();
        let mut rejected = 0;
        let mut women = 0;
        let mut enrolled = 0;
        for (_, message) in &a.messages {
            let content_type = message
                .header(headers::CONTENT_TYPE)
                .and_then(|v| ContentType::from_header(std::str::from_utf8(v).unwrap()));
            match normalize(&message.payload, content_type, &IngestPolicy::default(), &p, now) {
                Err(_) => rejected += 1,
                Ok(event) => {
                    if let Some(pb::normalized_event::Payload::Enrolment(e)) = event.payload
                        && e.status == pb::EnrolmentStatus::Enrolled as i32
                    {
                        enrolled += 1;
                        women += usize::from(e.profile.unwrap().gender == pb::Gender::Female as i32);
                    }
                }
            }
        }
        assert_eq!(rejected, a.invalid, "exactly the planted mistakes are rejected");
        let share = women as f64 / enrolled as f64;
        assert!((0.20..0.32).contains(&share), "share of women {share}");
    }

    #[test]
    fn an_event_id_carries_the_same_content_in_any_range() {
        let payloads = |set: SeedSet| -> std::collections::HashMap<String, Vec<u8>> {
            set.messages
                .into_iter()
                .filter(|(_, m)| m.header(headers::CONTENT_TYPE) == Some(b"application/x-protobuf".as_slice()))
                .filter_map(|(_, m)| {
                    let envelope = pb::EventEnvelope::decode(m.payload.as_slice()).ok()?;
                    Some((envelope.event_id.clone(), m.payload))
                })
                .collect()
        };
        let whole = payloads(synthetic_range(0..300, 9));
        let later = payloads(synthetic_range(200..300, 9));
        let mut shared = 0;
        for (id, payload) in &later {
            if let Some(same) = whole.get(id) {
                assert_eq!(same, payload, "event {id} differs between ranges");
                shared += 1;
            }
        }
        assert!(shared > 100, "learners 200..300 and the postings are in both sets ({shared} shared)");
    }

    #[test]
    fn every_region_gets_learners_and_demand() {
        let set = synthetic(3_000, 1);
        let p = Pseudonymiser::single(SecretKey::from_bytes(vec![1; 32]).unwrap(), 1);
        let now = "2026-06-01T00:00:00Z".parse().unwrap();
        let mut regions = std::collections::BTreeSet::new();
        for (_, message) in &set.messages {
            if let Ok(event) = normalize(&message.payload, None, &IngestPolicy::default(), &p, now) {
                regions.insert(event.region);
            }
        }
        assert_eq!(regions.len(), 18);
    }
}
