//! Reading the stored events back, month by month, with their facts:
//! skills-model restores its state from them when it has none.

use super::rows::{AppliedEventRow, AssessmentRow, DemandRow, EnrolmentRow, event_row_columns};
use super::{ClickHouseStore, store_error};
use crate::StoreError;
use skills_domain::facts::EventFacts;
use std::collections::HashMap;

impl ClickHouseStore {
    /// Months (YYYYMM of event time) that hold events, oldest first.
    pub async fn event_months(&self) -> Result<Vec<u32>, StoreError> {
        self.client
            .query(&format!(
                "SELECT DISTINCT toYYYYMM(occurred_at) AS month FROM {}.applied_events ORDER BY month",
                self.database
            ))
            .fetch_all()
            .await
            .map_err(store_error)
    }

    /// Every counted event of a month (YYYYMM) with its facts, each once.
    /// Facts whose event is not listed yet (a batch cut by a crash) are
    /// left out: the batch's replay brings them.
    pub async fn events_of_month(&self, month: u32) -> Result<Vec<EventFacts>, StoreError> {
        let db = &self.database;
        let in_month = format!("toYYYYMM(occurred_at) = {month}");
        let events: Vec<AppliedEventRow> = self
            .client
            .query(&format!(
                "SELECT event_id, any(kind), any(partner_id), any(region), any(occurred_at), min(ingested_at), \
                 any(source_topic), any(source_partition), any(source_offset) \
                 FROM {db}.applied_events WHERE {in_month} GROUP BY event_id"
            ))
            .fetch_all()
            .await
            .map_err(store_error)?;
        let mut by_id: HashMap<String, EventFacts> =
            events.into_iter().map(|row| row.into_event()).map(|event| (event.event_id.clone(), event)).collect();
        let (enrolments, assessments, demands) = tokio::try_join!(
            self.distinct_of_month::<EnrolmentRow>("enrolment_facts", &in_month),
            self.distinct_of_month::<AssessmentRow>("assessment_facts", &in_month),
            self.distinct_of_month::<DemandRow>("demand_facts", &in_month),
        )?;
        for fact in enrolments.into_iter().map(EnrolmentRow::into_fact) {
            if let Some(event) = by_id.get_mut(&fact.event_id) {
                event.facts.enrolments.push(fact);
            }
        }
        for fact in assessments.into_iter().map(AssessmentRow::into_fact) {
            if let Some(event) = by_id.get_mut(&fact.event_id) {
                event.facts.assessments.push(fact);
            }
        }
        for fact in demands.into_iter().map(DemandRow::into_fact) {
            if let Some(event) = by_id.get_mut(&fact.event_id) {
                event.facts.demands.push(fact);
            }
        }
        let mut events: Vec<EventFacts> = by_id.into_values().collect();
        events.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
        Ok(events)
    }

    /// One fact table's rows of a month, each once (a batch replayed after
    /// a crash wrote its facts twice).
    async fn distinct_of_month<T>(&self, table: &str, in_month: &str) -> Result<Vec<T>, StoreError>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        let (columns, db) = (event_row_columns::<T>(), &self.database);
        self.client
            .query(&format!("SELECT DISTINCT {columns} FROM {db}.{table} WHERE {in_month}"))
            .fetch_all()
            .await
            .map_err(store_error)
    }

    /// Every erased pseudonym, each once.
    pub async fn erased_learners(&self) -> Result<Vec<String>, StoreError> {
        self.client
            .query(&format!("SELECT DISTINCT learner FROM {}.erased_learners ORDER BY learner", self.database))
            .fetch_all()
            .await
            .map_err(store_error)
    }

    /// How many learners are erased.
    pub async fn erased_count(&self) -> Result<u64, StoreError> {
        self.count(&format!("SELECT uniqExact(learner) FROM {}.erased_learners", self.database)).await
    }
}
