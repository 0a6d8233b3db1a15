//! SubscribeToShard: an `application/vnd.amazon.eventstream` response. The initial-response
//! event is sent at once; then a task pushes a SubscribeToShardEvent whenever the shard commits
//! records (or a heartbeat is due), until the subscription's 5 minutes are over, the end of a
//! closed shard is sent (with ChildShards), the client goes away, or an error ends it as an
//! exception message.

use super::get_records::{child_out, record_out};
use super::{engine_error, parse, starting_position};
use crate::body::{Piece, ResponseBody};
use crate::error::ApiError;
use crate::protocol::Protocol;
use bytes::Bytes;
use rheo_engine::Engine;
use rheo_engine::consumers::{Next, Subscription};
use rheo_engine::data::{ReadSummary, RecordsRead};
use rheo_types::ConsumerArn;
use rheo_wire::eventstream::{encode_event, encode_exception};
use rheo_wire::model::Node;
use rheo_wire::records::{write_event_suffix, write_prefix, write_record};
use rheo_wire::shapes::{ChildShard, SubscribeToShardInput};
use tokio::sync::mpsc;

pub async fn handle(engine: &Engine, input: Node<'_>, protocol: Protocol) -> Result<ResponseBody, ApiError> {
    let input: SubscribeToShardInput = parse(input)?;
    let position = input.starting_position.unwrap_or_default();
    let kind = position.kind.as_deref().unwrap_or_default();
    let start = starting_position(kind, position.sequence_number.clone(), position.timestamp)?;
    let arn = input.consumer_arn.as_deref().unwrap_or_default();
    let arn = ConsumerArn::parse(arn).map_err(|_| ApiError::invalid_argument("Invalid ConsumerARN."))?;
    let shard = input.shard_id.as_deref().unwrap_or_default();
    let subscription = engine
        .subscribe(&arn, shard, start)
        .await
        .map_err(|e| engine_error(engine, e))?;
    if input.dry_run == Some(true) {
        return Err(ApiError::new(
            "DryRunOperationException",
            "Request would have succeeded, but DryRun flag is set.",
        ));
    }
    let mut initial = Vec::with_capacity(128);
    let (payload, content_type) = protocol.event_payload(b"{}".to_vec());
    encode_event(&mut initial, "initial-response", content_type, &payload);
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(push(engine.clone(), subscription, tx, protocol));
    Ok(ResponseBody::Events {
        first: Some(Bytes::from(initial)),
        rest: rx,
    })
}

/// Sends events until the subscription ends; dropping `tx` ends the response.
async fn push(engine: Engine, mut sub: Subscription, tx: mpsc::Sender<Piece>, protocol: Protocol) {
    loop {
        let next = tokio::select! {
            next = sub.next() => next,
            () = tx.closed() => return,
        };
        let read = match next {
            Ok(Next::Read(read)) => read,
            Ok(Next::Expired) => return,
            Err(e) => {
                let e = engine_error(&engine, e);
                let _ = tx
                    .send(exception(e.kind, e.message.as_deref().unwrap_or_default(), protocol))
                    .await;
                return;
            }
        };
        let encoded = if read.has_records() {
            tokio::task::spawn_blocking(move || encode(read))
                .await
                .unwrap_or_else(|e| Err(rheo_engine::Error::Internal(e.to_string())))
        } else {
            encode(read)
        };
        let (mut payload, summary) = match encoded {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(error = %e, "reading records for a subscription failed");
                let _ = tx
                    .send(exception(
                        "InternalFailureException",
                        "Internal service failure.",
                        protocol,
                    ))
                    .await;
                return;
            }
        };
        let continuation = sub.sent(&summary);
        let children: Option<Vec<ChildShard>> =
            summary.child_shards.as_ref().map(|c| c.iter().map(child_out).collect());
        write_event_suffix(
            &mut payload,
            continuation,
            children.as_deref(),
            summary.millis_behind_latest,
        );
        let (payload, content_type) = protocol.event_payload(payload);
        let mut out = Vec::with_capacity(payload.len().saturating_add(128));
        encode_event(&mut out, "SubscribeToShardEvent", content_type, &payload);
        if tx.send(Piece::More(Bytes::from(out))).await.is_err() || children.is_some() {
            return;
        }
    }
}

/// An exception message that ends the stream.
fn exception(kind: &str, message: &str, protocol: Protocol) -> Piece {
    let json = serde_json::json!({ "message": message }).to_string().into_bytes();
    let (payload, content_type) = protocol.event_payload(json);
    let mut out = Vec::new();
    encode_exception(&mut out, kind, content_type, &payload);
    Piece::More(Bytes::from(out))
}

/// Reads the event's records into the start of its JSON payload.
fn encode(read: RecordsRead) -> Result<(Vec<u8>, ReadSummary), rheo_engine::Error> {
    let mut payload = Vec::with_capacity(1024);
    write_prefix(&mut payload);
    let mut first = true;
    let summary = read.run(|r| {
        write_record(&mut payload, &record_out(r), first);
        first = false;
        true
    })?;
    Ok((payload, summary))
}
