//! One module per SQS action (AWS JSON 1.0, `AmazonSQS.*`), plus what they share: the queue a
//! QueueUrl names, the URL a queue is given, and message attribute conversions.

pub mod add_permission;
pub mod cancel_message_move_task;
pub mod change_message_visibility;
pub mod change_message_visibility_batch;
pub mod create_queue;
pub mod delete_message;
pub mod delete_message_batch;
pub mod delete_queue;
pub mod error;
pub mod get_queue_attributes;
pub mod get_queue_url;
pub mod list_dead_letter_source_queues;
pub mod list_message_move_tasks;
pub mod list_queue_tags;
pub mod list_queues;
pub mod purge_queue;
pub mod receive_message;
pub mod remove_permission;
pub mod send_message;
pub mod send_message_batch;
pub mod set_queue_attributes;
pub mod start_message_move_task;
pub mod tag_queue;
pub mod untag_queue;

pub use crate::ops::{Node, empty, json, parse};
pub use error::api_error;

use crate::error::ApiError;
use crate::router::Reply;
use rheo_queues::{AttributeValue, MessageAttribute, QueueError, Sqs};
use rheo_wire::sqs::MessageAttributeValue;
use std::collections::BTreeMap;

/// What an SQS handler knows of its request besides the body.
pub struct Ctx {
    pub sqs: Sqs,
    /// `scheme://host[:port]` as the client called the server: queue URLs start with it.
    pub base_url: String,
    /// The `X-Amzn-Trace-Id` header, which SQS stores as a message's AWSTraceHeader.
    pub trace_header: Option<String>,
    /// The SenderId of messages this request sends: the signer's access key, or the account.
    pub sender: String,
}

impl Ctx {
    /// A queue's URL: `scheme://host/account/name`, on the host the client called (so SDKs
    /// that follow a QueueUrl reach this server), with AWS's path.
    pub fn url(&self, name: &str) -> String {
        format!("{}/{}/{name}", self.base_url, self.sqs.account())
    }
}

/// Runs an SQS action on a checked request.
pub async fn dispatch(ctx: &Ctx, action: &str, input: Node<'_>) -> Reply {
    match action {
        "AddPermission" => add_permission::handle(ctx, input).await,
        "CancelMessageMoveTask" => cancel_message_move_task::handle(ctx, input).await,
        "ChangeMessageVisibility" => change_message_visibility::handle(ctx, input).await,
        "ChangeMessageVisibilityBatch" => change_message_visibility_batch::handle(ctx, input).await,
        "CreateQueue" => create_queue::handle(ctx, input).await,
        "DeleteMessage" => delete_message::handle(ctx, input).await,
        "DeleteMessageBatch" => delete_message_batch::handle(ctx, input).await,
        "DeleteQueue" => delete_queue::handle(ctx, input).await,
        "GetQueueAttributes" => get_queue_attributes::handle(ctx, input).await,
        "GetQueueUrl" => get_queue_url::handle(ctx, input).await,
        "ListDeadLetterSourceQueues" => list_dead_letter_source_queues::handle(ctx, input).await,
        "ListMessageMoveTasks" => list_message_move_tasks::handle(ctx, input).await,
        "ListQueueTags" => list_queue_tags::handle(ctx, input).await,
        "ListQueues" => list_queues::handle(ctx, input).await,
        "PurgeQueue" => purge_queue::handle(ctx, input).await,
        "ReceiveMessage" => receive_message::handle(ctx, input).await,
        "RemovePermission" => remove_permission::handle(ctx, input).await,
        "SendMessage" => send_message::handle(ctx, input).await,
        "SendMessageBatch" => send_message_batch::handle(ctx, input).await,
        "SetQueueAttributes" => set_queue_attributes::handle(ctx, input).await,
        "StartMessageMoveTask" => start_message_move_task::handle(ctx, input).await,
        "TagQueue" => tag_queue::handle(ctx, input).await,
        "UntagQueue" => untag_queue::handle(ctx, input).await,
        _ => Err(ApiError::unknown_operation()),
    }
}

/// A required member SQS reports as MissingParameter.
pub fn required<T>(value: Option<T>, name: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| {
        api_error(QueueError::MissingParameter(format!(
            "The request must contain the parameter {name}."
        )))
    })
}

/// The queue a QueueUrl names: by its path's last two segments (account and name), whatever
/// the host, or a bare name (AWS accepts both). Another account's queue does not exist here.
pub fn queue_name(ctx: &Ctx, url: Option<String>) -> Result<String, ApiError> {
    let url = required(url, "QueueUrl")?;
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, p)| p),
        None => url.as_str(),
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let name = match segments.as_slice() {
        [name] => *name,
        [.., account, name] if *account == ctx.sqs.account() => *name,
        _ => return Err(api_error(QueueError::QueueDoesNotExist)),
    };
    Ok(name.to_owned())
}

/// Message attributes as a request gives them, checked for shape (the values' rules are the
/// queue's).
pub fn attributes_in(
    given: Option<BTreeMap<String, MessageAttributeValue>>,
) -> Result<Vec<MessageAttribute>, ApiError> {
    let mut out = Vec::new();
    for (name, v) in given.unwrap_or_default() {
        let data_type = v.data_type.unwrap_or_default();
        if data_type.is_empty() {
            return Err(api_error(QueueError::InvalidParameterValue(format!(
                "The message attribute '{name}' must contain non-empty message attribute type."
            ))));
        }
        let value = match (v.string_value, v.binary_value) {
            (_, Some(b)) if data_type.starts_with("Binary") => AttributeValue::Binary(b.0.into()),
            (Some(s), _) => AttributeValue::String(s),
            (None, Some(b)) => AttributeValue::Binary(b.0.into()),
            (None, None) => AttributeValue::String(String::new()),
        };
        out.push(MessageAttribute { name, data_type, value });
    }
    Ok(out)
}

/// Message attributes as a response gives them.
pub fn attributes_out(attributes: &[MessageAttribute]) -> BTreeMap<String, MessageAttributeValue> {
    attributes
        .iter()
        .map(|a| {
            let (string_value, binary_out) = match &a.value {
                AttributeValue::String(s) => (Some(s.clone()), None),
                AttributeValue::Binary(b) => (None, Some(rheo_wire::encode_blob(b))),
            };
            let v = MessageAttributeValue {
                string_value,
                binary_out,
                data_type: Some(a.data_type.clone()),
                ..MessageAttributeValue::default()
            };
            (a.name.clone(), v)
        })
        .collect()
}

/// The entry Ids of a batch, checked as SQS checks them before any entry.
pub fn check_batch<'a>(ids: impl ExactSizeIterator<Item = &'a str>, entry: &str) -> Result<(), ApiError> {
    rheo_queues::send::check_batch(ids, entry).map_err(api_error)
}

/// The output of DeleteMessageBatch and ChangeMessageVisibilityBatch: each entry's Id under
/// `Successful`, or its failure under `Failed`.
pub fn id_results(ids: Vec<String>, results: Vec<Result<(), QueueError>>) -> Reply {
    let mut out = rheo_wire::sqs::BatchOutput::default();
    for (id, r) in ids.into_iter().zip(results) {
        match r {
            Ok(()) => out.successful.push(rheo_wire::sqs::IdEntry { id }),
            Err(e) => out.failed.push(error::entry_failure(id, e)),
        }
    }
    json(&out)
}
