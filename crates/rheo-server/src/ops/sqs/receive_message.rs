//! ReceiveMessage: messages with the system attributes asked for (AttributeNames and
//! MessageSystemAttributeNames together) and the message attributes asked for (`All`, `.*`,
//! names, `prefix.*`), whose digest covers only those returned. No messages: no `Messages`.

use super::{Ctx, Node, api_error, attributes_out, json, parse, queue_name};
use crate::router::Reply;
use rheo_queues::{Message, MessageAttribute, ReceiveRequest, message};
use rheo_wire::sqs::{MessageOut, ReceiveMessageInput, ReceiveMessageOutput};
use std::collections::BTreeMap;

pub async fn handle(ctx: &Ctx, input: Node<'_>) -> Reply {
    let input: ReceiveMessageInput = parse(input)?;
    let name = queue_name(ctx, input.queue_url)?;
    let req = ReceiveRequest {
        max: input.max_number_of_messages,
        visibility_s: input.visibility_timeout,
        wait_s: input.wait_time_seconds,
        attempt_id: input.receive_request_attempt_id,
    };
    let received = ctx.sqs.receive(&name, req).await.map_err(api_error)?;
    let mut system: Vec<String> = input.attribute_names.unwrap_or_default();
    system.extend(input.message_system_attribute_names.unwrap_or_default());
    let wanted = input.message_attribute_names.unwrap_or_default();
    let messages = received
        .into_iter()
        .map(|r| {
            let attrs: Vec<MessageAttribute> = r
                .message
                .attributes
                .iter()
                .filter(|a| wants(&wanted, &a.name))
                .cloned()
                .collect();
            MessageOut {
                md5_of_body: message::md5_hex(&r.message.body),
                body: String::from_utf8_lossy(&r.message.body).into_owned(),
                attributes: system_attributes(&r.message, &system),
                md5_of_message_attributes: message::attributes_md5(&attrs),
                message_attributes: attributes_out(&attrs),
                message_id: r.message.id,
                receipt_handle: r.receipt_handle,
            }
        })
        .collect();
    json(&ReceiveMessageOutput { messages })
}

/// Whether a message attribute is among those asked for.
fn wants(wanted: &[String], name: &str) -> bool {
    wanted.iter().any(|w| match w.as_str() {
        "All" | ".*" | "*" => true,
        w => match w.strip_suffix(".*") {
            Some(prefix) => name.starts_with(prefix),
            None => w == name,
        },
    })
}

/// The system attributes asked for that apply to the message (others are left out).
fn system_attributes(m: &Message, names: &[String]) -> BTreeMap<String, String> {
    let all = names.iter().any(|n| n == "All");
    let want = |n: &str| all || names.iter().any(|x| x == n);
    let mut out = BTreeMap::new();
    let mut put = |name: &str, value: Option<String>| {
        if let Some(v) = value.filter(|_| want(name)) {
            out.insert(name.to_owned(), v);
        }
    };
    put("SenderId", Some(m.sender.clone()));
    put("SentTimestamp", Some(m.sent_ms.to_string()));
    put("ApproximateReceiveCount", Some(m.receive_count.to_string()));
    put(
        "ApproximateFirstReceiveTimestamp",
        m.first_receive_ms.map(|t| t.to_string()),
    );
    put("SequenceNumber", m.sequence.map(|s| s.to_string()));
    put(
        "MessageDeduplicationId",
        m.dedup_id.clone().filter(|_| m.sequence.is_some()),
    );
    put("MessageGroupId", m.group.clone());
    put("AWSTraceHeader", m.trace_header.clone());
    put("DeadLetterQueueSourceArn", m.dead_letter_source.clone());
    out
}
