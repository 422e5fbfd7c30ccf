//! GetPartnerStatus over real gRPC: a partner reads its own counted events,
//! duplicates and dead letters, never another's; policy reads anyone's.

mod support;

use skills_domain::facts::{DuplicateEvent, RawSource};
use skills_proto::v1 as pb;
use skills_store::fixtures::story;
use skills_store::{Batch, DeadLetter, MetricsStore};
use support::{PARTNER_TOKEN, PUBLIC_TOKEN, TOKEN, serve};
use tonic::{Code, Request};

fn asking(token: &str, partner: &str) -> Request<pb::GetPartnerStatusRequest> {
    let mut request = Request::new(pb::GetPartnerStatusRequest { partner_id: partner.into() });
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

#[tokio::test]
async fn a_partner_reads_its_own_status_and_only_its_own() {
    let mut running = serve(4).await;
    let letter = |offset: i64, partner: &str| DeadLetter {
        id: format!("letter-{offset}"),
        source_topic: "skills.enrolments.v1".into(),
        source_partition: 0,
        source_offset: offset,
        reason: "unknown_skill".into(),
        message: "unknown skill code \"9.9\"".into(),
        payload: b"{}".to_vec(),
        partner_id: partner.into(),
    };
    let repeat = DuplicateEvent {
        event_id: story()[0].event_id.clone(),
        partner_id: "p".into(),
        source: RawSource { topic: "skills.enrolments.v1".into(), partition: 0, offset: 90 },
    };
    let extra = Batch {
        dead_letters: vec![letter(70, "p"), letter(71, "p"), letter(72, "q")],
        duplicates: vec![repeat],
        ..Default::default()
    };
    running.store.apply(extra).await.unwrap();

    let own = running.client.get_partner_status(asking(PARTNER_TOKEN, "")).await.unwrap().into_inner();
    let distinct: std::collections::BTreeSet<String> = story().into_iter().map(|e| e.event_id).collect();
    assert_eq!(own.partner_id, "p");
    assert_eq!(own.events_counted, distinct.len() as u64);
    assert_eq!((own.duplicates, own.dead_letters), (1, 2), "not partner q's letter");
    let [by_reason] = own.dead_letters_by_reason.as_slice() else { panic!("{own:?}") };
    assert_eq!((by_reason.reason.as_str(), by_reason.count, by_reason.examples.len()), ("unknown_skill", 2, 2));
    assert_eq!(by_reason.examples[0].source_offset, 71, "newest first");
    assert!(own.last_received_at.is_some() && own.last_occurred_at.is_some());
    assert!(own.lag_seconds > 0, "the story's events were received in 2026-01");
    assert!(own.pipeline_as_of.is_some());

    let named = running.client.get_partner_status(asking(PARTNER_TOKEN, "p")).await.unwrap().into_inner();
    assert_eq!(named.events_counted, own.events_counted);
    let by_policy = running.client.get_partner_status(asking(TOKEN, "p")).await.unwrap().into_inner();
    assert_eq!((by_policy.events_counted, by_policy.dead_letters), (own.events_counted, 2));
    let other = running.client.get_partner_status(asking(TOKEN, "q")).await.unwrap().into_inner();
    assert_eq!((other.events_counted, other.dead_letters, other.lag_seconds), (0, 1, 0));

    let refused = running.client.get_partner_status(asking(PARTNER_TOKEN, "q")).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let public = running.client.get_partner_status(asking(PUBLIC_TOKEN, "p")).await.unwrap_err();
    assert_eq!(public.code(), Code::PermissionDenied);
    let unnamed = running.client.get_partner_status(asking(TOKEN, "")).await.unwrap_err();
    assert_eq!(unnamed.code(), Code::InvalidArgument);
    assert!(unnamed.message().contains("partner_id"), "{unnamed:?}");
}
