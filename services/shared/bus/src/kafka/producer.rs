//! Batches to Kafka, acknowledged.

use super::kafka_error;
use crate::{BusError, Message, Producer};
use async_trait::async_trait;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

pub(super) struct KafkaProducer {
    producer: FutureProducer,
}

impl KafkaProducer {
    pub(super) fn new(producer: FutureProducer) -> Self {
        KafkaProducer { producer }
    }
}

fn headers_of(message: &Message) -> OwnedHeaders {
    message.headers.iter().fold(OwnedHeaders::new_with_capacity(message.headers.len()), |headers, header| {
        headers.insert(Header { key: &header.name, value: Some(&header.value) })
    })
}

#[async_trait]
impl Producer for KafkaProducer {
    async fn send(&self, topic: &str, messages: Vec<Message>) -> Result<(), BusError> {
        self.send_ref(topic, &messages).await
    }

    /// librdkafka copies each payload into its own buffer, so borrowing is enough.
    async fn send_ref(&self, topic: &str, messages: &[Message]) -> Result<(), BusError> {
        let mut deliveries: Vec<DeliveryFuture> = Vec::with_capacity(messages.len());
        for message in messages {
            let mut record = FutureRecord::to(topic).payload(&message.payload).headers(headers_of(message));
            if let Some(key) = &message.key {
                record = record.key(key);
            }
            loop {
                match self.producer.send_result(record) {
                    Ok(delivery) => {
                        deliveries.push(delivery);
                        break;
                    }
                    // The local queue is full: let librdkafka drain it.
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                        record = returned;
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    Err((error, _)) => return Err(kafka_error(error)),
                }
            }
        }
        let mut first_error = None;
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => {
                    first_error.get_or_insert(kafka_error(error));
                }
                Err(_) => {
                    first_error.get_or_insert(BusError::Kafka("producer closed before delivery".into()));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
