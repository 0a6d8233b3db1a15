//! Tumbling windows (TumblingWindowInSeconds) on a Kinesis shard: records are grouped by
//! their arrival time into windows `[start, start + W)`; each invocation of a window carries
//! the `state` its previous invocation returned (`{}` at first), and the window ends with an
//! invocation marked `isFinalInvokeForWindow` once its end has passed (by the clock, or
//! because a record of a later window arrived). An answer without `state` is a failed
//! invocation. The state lives in memory: the shard's checkpoint stays at the window's start
//! until the final invocation succeeds, so after a restart the window is run again from `{}`.
//! A state over 1 MB ends the window early (`isWindowTerminatedEarly`).

use crate::catalog::{Checkpoint, MappingDef};
use crate::events;
use crate::kinesis::{State, discard, fresh_shard, read, stream_arn, stream_of};
use bytes::Bytes;
use rheo_engine::kqueues::{FeedRecord, FeedShard};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The largest event a function is sent.
const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024 - 1024;

/// The largest state a window may carry.
const MAX_STATE_BYTES: usize = 1024 * 1024;

struct Window {
    start_ms: i64,
    state: Value,
}

pub(crate) async fn run(state: Arc<State>, uuid: String, mut shard: FeedShard) {
    let m = state.m.clone();
    let id = shard.id;
    let shard_name = id.to_string();
    // The read position runs ahead of the checkpoint while a window is open.
    let mut pos = state.get(id.0).next;
    let mut open: Option<Window> = None;
    loop {
        let Some(def) = m.def(&uuid) else { return };
        let w = i64::from(def.tumbling_window_s.max(1)) * 1000;
        if def.tumbling_window_s == 0 {
            // Windows were turned off: the open one ends, and the mapping's task starts a
            // plain worker for the shard.
            if let Some(win) = open.take() {
                invoke(&state, &def, &shard_name, &[], &win, w, true, true).await;
                state
                    .set(
                        id.0,
                        Checkpoint {
                            next: pos,
                            finished: false,
                        },
                    )
                    .await;
            }
            return;
        }
        let cutoff = stream_of(&def)
            .and_then(|n| m.inner.engine.feed(&n).ok())
            .map_or(i64::MIN, |f| f.cutoff_ms);
        let records = match read(&shard, pos, def.batch_size as usize, cutoff).await {
            Ok(r) => r,
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Some(win) = &open {
            let end = win.start_ms.saturating_add(w);
            let later = records.first().is_some_and(|r| r.arrival_ms >= end);
            let big = serde_json::to_vec(&win.state).map_or(0, |v| v.len()) > MAX_STATE_BYTES;
            if later || m.now() >= end || big {
                invoke(&state, &def, &shard_name, &[], win, w, true, big).await;
                open = None;
                state
                    .set(
                        id.0,
                        Checkpoint {
                            next: pos,
                            finished: false,
                        },
                    )
                    .await;
                continue;
            }
        }
        if records.is_empty() {
            if open.is_none() && shard.closed && pos >= shard.end() {
                state
                    .set(
                        id.0,
                        Checkpoint {
                            next: pos,
                            finished: true,
                        },
                    )
                    .await;
                return;
            }
            // Wake for new records, for the open window's end, or each second (a reshard).
            let until = open
                .as_ref()
                .map(|win| win.start_ms.saturating_add(w).saturating_sub(m.now()).max(1) as u64)
                .unwrap_or(1000)
                .min(1000);
            tokio::select! {
                () = shard.changed() => {}
                () = tokio::time::sleep(Duration::from_millis(until)) => {}
            }
            if let Some(fresh) = fresh_shard(&m, &def, id) {
                shard = fresh;
            }
            continue;
        }
        let start = records
            .first()
            .map_or(0, |r| r.arrival_ms.div_euclid(w).saturating_mul(w));
        let win = open.get_or_insert(Window {
            start_ms: start,
            state: json!({}),
        });
        let end = win.start_ms.saturating_add(w);
        // The window's records, as many as fit in one event beside the state (6 MB).
        let role = m
            .inner
            .functions
            .get(&def.function)
            .map(|f| f.def.role)
            .unwrap_or_default();
        let context = shard_name.len() + def.source_arn.len() + m.inner.config.region.len() + role.len();
        let mut room = MAX_EVENT_BYTES.saturating_sub(serde_json::to_vec(&win.state).map_or(0, |v| v.len()));
        let mut group: Vec<FeedRecord> = Vec::new();
        for r in records.into_iter().take_while(|r| r.arrival_ms < end) {
            let len = events::kinesis_record_bound(&r, context);
            if !group.is_empty() && len > room {
                break;
            }
            room = room.saturating_sub(len);
            group.push(r);
        }
        pos = group.last().map_or(pos, |r| r.key.saturating_add(1));
        let passing = events::filter_records(&def.filters, group);
        if !passing.is_empty()
            && let Some(next) = invoke(&state, &def, &shard_name, &passing, win, w, false, false).await
        {
            win.state = next;
        }
    }
}

/// Invokes the function with a window's records and state until it answers with a state or
/// the retries are spent (then the records go to the OnFailure destination and the state
/// stays). Returns the new state.
#[allow(clippy::too_many_arguments)]
async fn invoke(
    state: &State,
    def: &MappingDef,
    shard: &str,
    records: &[FeedRecord],
    win: &Window,
    w: i64,
    last: bool,
    early: bool,
) -> Option<Value> {
    let m = &state.m;
    let role = m
        .inner
        .functions
        .get(&def.function)
        .map(|f| f.def.role)
        .unwrap_or_default();
    let region = m.inner.config.region.clone();
    let list: Vec<Value> = records
        .iter()
        .map(|r| events::kinesis_record(r, shard, &stream_arn(def), &region, &role))
        .collect();
    let seconds = |ms: i64| {
        let iso = rheo_functions::service::iso8601(ms);
        format!("{}Z", iso.split('.').next().unwrap_or_default())
    };
    let event = json!({
        "Records": list,
        "window": {"start": seconds(win.start_ms), "end": seconds(win.start_ms.saturating_add(w))},
        "state": win.state,
        "shardId": shard,
        "eventSourceARN": stream_arn(def),
        "isFinalInvokeForWindow": last,
        "isWindowTerminatedEarly": early,
    });
    let payload = Bytes::from(event.to_string());
    let request_id = rheo_functions::service::new_uuid();
    let mut attempts = 0u32;
    loop {
        let Some(out) = m.invoke(def, payload.clone()).await else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if m.def(&def.uuid).is_none_or(|d| !d.enabled) {
                return None;
            }
            continue;
        };
        attempts = attempts.saturating_add(1);
        let answer: Option<Value> = out
            .function_error
            .is_none()
            .then(|| serde_json::from_slice::<Value>(&out.payload).ok())
            .flatten();
        if let Some(next) = answer.as_ref().and_then(|a| a.get("state")).filter(|s| s.is_object()) {
            m.set_result(&def.uuid, "OK");
            return Some(next.clone());
        }
        m.set_result(&def.uuid, "PROBLEM: Function call failed");
        if def.maximum_retry_attempts >= 0 && i64::from(attempts) > def.maximum_retry_attempts {
            let error: Option<Option<&str>> = Some(out.function_error.as_ref().map(|_| "Unhandled"));
            discard(
                state,
                def,
                shard,
                records,
                &request_id,
                "RetryAttemptsExhausted",
                attempts,
                error,
            )
            .await;
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100u64.saturating_mul(1 << attempts.min(6)))).await;
    }
}
