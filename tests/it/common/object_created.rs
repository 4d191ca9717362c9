//! Counts the workflows an upload starts: the source bucket notifies an SQS queue of every
//! `s3:ObjectCreated:*` event, as the solution's bucket notification starts one workflow per event on
//! AWS. Tests count side effects here, not only bytes.

use std::time::{Duration, Instant};

use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};

use vodesk::aws::connection::AwsClients;

/// The queue that receives `bucket`'s ObjectCreated events.
pub(crate) struct ObjectCreatedCounter {
    queue_url: String,
    /// Keys seen so far, one entry per event, in arrival order.
    seen: Vec<String>,
}

impl ObjectCreatedCounter {
    /// Points `bucket`'s notification at a new queue.
    pub(crate) async fn attach(clients: &AwsClients, bucket: &str) -> Self {
        let queue_name = format!("{bucket}-object-created");
        let queue_url = clients
            .sqs
            .create_queue()
            .queue_name(&queue_name)
            .send()
            .await
            .expect("create the counting queue")
            .queue_url()
            .expect("queue url")
            .to_owned();
        let arn = clients
            .sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .expect("queue arn")
            .clone();
        let config = NotificationConfiguration::builder()
            .queue_configurations(
                QueueConfiguration::builder()
                    .queue_arn(arn)
                    .events(Event::from("s3:ObjectCreated:*"))
                    .build()
                    .expect("queue configuration"),
            )
            .build();
        clients
            .s3
            .put_bucket_notification_configuration()
            .bucket(bucket)
            .notification_configuration(config)
            .send()
            .await
            .expect("bucket notification");
        Self {
            queue_url,
            seen: Vec::new(),
        }
    }

    /// Drains the queue until it has been quiet for `quiet`, and returns the keys of every
    /// ObjectCreated event received since the counter was attached.
    pub(crate) async fn keys(&mut self, clients: &AwsClients, quiet: Duration) -> &[String] {
        let mut last = Instant::now();
        while last.elapsed() < quiet {
            let out = clients
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive");
            for message in out.messages() {
                last = Instant::now();
                let body: serde_json::Value =
                    serde_json::from_str(message.body().unwrap_or("{}")).unwrap_or_default();
                for record in body["Records"].as_array().into_iter().flatten() {
                    if record["eventName"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("ObjectCreated"))
                    {
                        // Event keys are URL-encoded, spaces as '+'.
                        let key = record["s3"]["object"]["key"]
                            .as_str()
                            .unwrap_or_default()
                            .replace('+', " ");
                        let key = percent_encoding::percent_decode_str(&key).decode_utf8_lossy();
                        self.seen.push(key.into_owned());
                    }
                }
                if let Some(handle) = message.receipt_handle() {
                    clients
                        .sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("delete");
                }
            }
        }
        &self.seen
    }

    /// The number of ObjectCreated events for keys ending in `suffix` (waits for quiet first).
    pub(crate) async fn count(&mut self, clients: &AwsClients, suffix: &str) -> usize {
        self.keys(clients, Duration::from_secs(2))
            .await
            .iter()
            .filter(|k| k.ends_with(suffix))
            .count()
    }
}
