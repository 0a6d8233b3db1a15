//! Message operations: send (one or a batch), receive with long polling, delete and
//! visibility changes, and the move of dead letters.

use crate::error::{QueueError, Result};
use crate::journal::Record;
use crate::message::{self, Message};
use crate::queue::{ReceiveLimits, Taken};
use crate::receipt::Receipt;
use crate::send::{self, Rules, SendEntry};
use crate::service::{Attempt, DEDUP_WINDOW_MS, DedupEntry, Queue, Sqs, dedup_key};
use std::sync::Arc;
use std::time::Duration;

/// What a send returns for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub message_id: String,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
    pub md5_of_system_attributes: Option<String>,
    pub sequence_number: Option<String>,
}

/// What a receive asks for.
#[derive(Debug, Clone, Default)]
pub struct ReceiveRequest {
    pub max: Option<i64>,
    pub visibility_s: Option<i64>,
    pub wait_s: Option<i64>,
    pub attempt_id: Option<String>,
}

/// A received message and its receipt handle.
#[derive(Debug, Clone)]
pub struct Received {
    pub message: Message,
    pub receipt_handle: String,
}

/// The first FIFO sequence number: SQS's are 20-digit decimals.
const SEQUENCE_BASE: u128 = 18_000_000_000_000_000_000;

/// OverLimit's text for a receive past the in-flight limit (AWS-recorded, 2014).
const OVER_IN_FLIGHT: &str = "Too many messages have been received without being deleted.\nPlease delete your received messages or let them timeout before receiving more.";

/// The most a message may stay invisible, counted from its first receive.
const MAX_VISIBILITY_MS: i64 = 43_200_000;

impl Sqs {
    /// SendMessage and SendMessageBatch: each entry is checked and stored, or gets its
    /// error; the call returns once every stored entry is durable.
    /// `batch`: SendMessageBatch, whose FIFO id rules and total size fail the whole request.
    pub async fn send(
        &self,
        name: &str,
        entries: Vec<SendEntry>,
        sender: &str,
        batch: bool,
    ) -> Result<Vec<Result<Sent>>> {
        let q = self.queue(name)?;
        if batch {
            send::check_batch_size(&entries)?;
        }
        let now = self.now();
        let mut out = Vec::with_capacity(entries.len());
        {
            let mut g = q.lock();
            if g.deleted {
                return Err(QueueError::QueueDoesNotExist);
            }
            let attrs = g.def.attributes.clone();
            let rules = Rules {
                fifo: q.fifo,
                content_based_dedup: attrs.content_based_dedup(),
                maximum_message_size: attrs.maximum_message_size(),
            };
            if batch && q.fifo {
                for e in &entries {
                    send::fifo_ids(e, &rules).map_err(|e| match e {
                        QueueError::MissingParameter(m) => QueueError::InvalidParameterValue(m),
                        other => other,
                    })?;
                }
            }
            for e in entries {
                if let Err(err) = send::check(&e, &rules, batch) {
                    out.push(Err(err));
                    continue;
                }
                let md5_of_body = message::md5_hex(e.body.as_bytes());
                let md5_of_attributes = message::attributes_md5(&e.attributes);
                let md5_of_system_attributes = e.trace_header.as_deref().map(message::trace_header_md5);
                let dedup_id = match (&e.dedup_id, q.fifo) {
                    (Some(d), _) => Some(d.clone()),
                    (None, true) => Some(content_dedup_id(&e.body)),
                    (None, false) => None,
                };
                let dedup = q
                    .fifo
                    .then(|| dedup_key(&attrs, e.group.as_deref(), dedup_id.as_deref().unwrap_or_default()));
                let sent = |message_id: String, sequence: Option<u128>| Sent {
                    message_id,
                    md5_of_body,
                    md5_of_attributes,
                    md5_of_system_attributes,
                    sequence_number: sequence.map(|s| s.to_string()),
                };
                if let Some(entry) = dedup
                    .as_ref()
                    .and_then(|k| g.dedup.get(k))
                    .filter(|d| d.expires_ms > now)
                {
                    out.push(Ok(sent(entry.message_id.clone(), entry.sequence)));
                    continue;
                }
                if let Err(err) = self.check_stored_bytes() {
                    out.push(Err(err));
                    continue;
                }
                let delay_ms = e.delay_s.unwrap_or(attrs.delay_s()) * 1000;
                let m = self.journal().push_put(q.id, now, |key| Message {
                    no: key,
                    id: message::new_message_id(),
                    body: bytes::Bytes::from(e.body.into_bytes()),
                    attributes: e.attributes,
                    trace_header: e.trace_header,
                    sent_ms: now,
                    visible_at_ms: now + delay_ms,
                    receive_count: 0,
                    first_receive_ms: None,
                    group: e.group,
                    dedup_id,
                    sequence: q.fifo.then_some(SEQUENCE_BASE + u128::from(key)),
                    dead_letter_source: None,
                    sender: sender.to_owned(),
                    journal_key: key,
                });
                let key = m.no;
                out.push(Ok(sent(m.id.clone(), m.sequence)));
                if let Some(k) = dedup {
                    g.dedup.insert(
                        k,
                        DedupEntry {
                            message_id: m.id.clone(),
                            sequence: m.sequence,
                            expires_ms: now + DEDUP_WINDOW_MS,
                            journal_key: key,
                        },
                    );
                }
                g.state.insert(m);
            }
        }
        q.notify.notify_waiters();
        self.commit().await?;
        Ok(out)
    }

    /// A send may store a message only while the tenant's queues, and all tenants' on the
    /// server, hold less than their limits.
    pub fn check_stored_bytes(&self) -> Result<()> {
        use std::sync::atomic::Ordering::Relaxed;
        let limits = self.inner.config.limits;
        if self.inner.stored_bytes.load(Relaxed) >= limits.stored_bytes {
            return Err(QueueError::OverLimit(format!(
                "This account's queues in this region hold {} bytes of messages, Rheo's limit: delete or purge messages before sending more.",
                limits.stored_bytes
            )));
        }
        if self.inner.config.server_bytes.load(Relaxed) >= limits.server_stored_bytes {
            return Err(QueueError::OverLimit(format!(
                "The queues of this Rheo server hold {} bytes of messages, its limit: delete or purge messages before sending more.",
                limits.server_stored_bytes
            )));
        }
        Ok(())
    }

    /// ReceiveMessage: up to `max` messages (1 to 10), waiting up to `wait_s` seconds (the
    /// queue's ReceiveMessageWaitTimeSeconds by default) for the first to arrive.
    pub async fn receive(&self, name: &str, req: ReceiveRequest) -> Result<Vec<Received>> {
        let q = self.queue(name)?;
        let max = req.max.unwrap_or(1);
        if !(1..=10).contains(&max) {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
            )));
        }
        if let Some(w) = req.wait_s.filter(|w| !(0..=20).contains(w)) {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value {w} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
            )));
        }
        if let Some(v) = req.visibility_s.filter(|v| !(0..=43_200).contains(v)) {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value {v} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided."
            )));
        }
        if req.attempt_id.is_some() && !q.fifo {
            // SQS ignores it on standard queues.
        }
        let wait_s = req.wait_s.unwrap_or_else(|| q.lock().def.attributes.receive_wait_s());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait_s.max(0) as u64);
        let mut first = true;
        loop {
            let notified = q.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = self.now();
            let (got, next_at) = self.take(&q, now, max as usize, &req, first)?;
            first = false;
            if !got.is_empty() || tokio::time::Instant::now() >= deadline {
                self.commit().await?;
                return Ok(got);
            }
            let mut until = deadline;
            if let Some(at) = next_at {
                // At least 10 ms: a message that stays visible but cannot be taken (its
                // dead-letter queue gone) must not make the poll spin.
                let ms = (at - now).max(10) as u64;
                until = until.min(tokio::time::Instant::now() + Duration::from_millis(ms));
            }
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(until) => {}
            }
        }
    }

    /// One attempt of a receive: the messages taken (their records queued), and when the
    /// next message becomes visible.
    /// `first`: the poll's first attempt, the only one that may answer a retried
    /// ReceiveRequestAttemptId.
    fn take(
        &self,
        q: &Arc<Queue>,
        now: i64,
        max: usize,
        req: &ReceiveRequest,
        first: bool,
    ) -> Result<(Vec<Received>, Option<i64>)> {
        let mut dead = Vec::new();
        let mut got = Vec::new();
        let next_at;
        {
            let mut g = q.lock();
            if g.deleted {
                return Err(QueueError::QueueDoesNotExist);
            }
            if let Some(again) = self.retried_attempt(q, &g, now, req).filter(|a| first && !a.is_empty()) {
                return Ok((again, None));
            }
            let in_flight = g.state.in_flight(now);
            let limit = self.inner.config.limits.in_flight;
            if in_flight >= limit {
                if q.fifo {
                    // A FIFO queue at its limit returns nothing (AWS's documented behaviour).
                    return Ok((Vec::new(), g.state.next_visible_at()));
                }
                return Err(QueueError::OverLimit(OVER_IN_FLIGHT.to_owned()));
            }
            let attrs = g.def.attributes.clone();
            let redrive = attrs.redrive();
            let limits = ReceiveLimits {
                max: max.min(limit - in_flight),
                visibility_ms: req.visibility_s.unwrap_or(attrs.visibility_timeout_s()) * 1000,
                max_receive_count: redrive.as_ref().map(|r| r.max_receive_count),
                retention_ms: attrs.retention_s() * 1000,
            };
            for t in g.state.receive(now, limits) {
                match t {
                    Taken::Received(m) => {
                        self.journal().push(
                            &Record::Seen {
                                queue: q.id,
                                no: m.no,
                                visible_at_ms: m.visible_at_ms,
                                receive_count: m.receive_count,
                                first_receive_ms: m.first_receive_ms,
                            },
                            now,
                        );
                        let receipt_handle = Receipt {
                            queue: q.id,
                            no: m.no,
                            receive_count: m.receive_count,
                        }
                        .encode(self.key());
                        got.push(Received {
                            message: m,
                            receipt_handle,
                        });
                    }
                    Taken::DeadLetter(m) => {
                        let target = redrive
                            .as_ref()
                            .and_then(|r| self.dead_letter_target(&r.dead_letter_target_arn));
                        match target {
                            Some(target) => {
                                // The copy is journaled before the removal: a crash between
                                // them leaves the message in both queues, never in neither.
                                let moved = self.push_moved(&target, m.clone(), Some(q.arn.clone()), now);
                                self.journal().push(&Record::Delete { queue: q.id, no: m.no }, now);
                                dead.push((target, moved));
                            }
                            None => {
                                // The dead-letter queue is gone: the message stays.
                                g.state.insert(m);
                            }
                        }
                    }
                }
            }
            if let (true, Some(id), false) = (q.fifo, &req.attempt_id, got.is_empty()) {
                g.attempts.insert(
                    id.clone(),
                    Attempt {
                        expires_ms: now + DEDUP_WINDOW_MS,
                        messages: got.iter().map(|r| (r.message.no, r.message.receive_count)).collect(),
                    },
                );
            }
            next_at = g.state.next_visible_at();
        }
        for (target, m) in dead {
            self.insert_moved(&target, m);
        }
        Ok((got, next_at))
    }

    /// The messages of an earlier receive with the same ReceiveRequestAttemptId, if they are
    /// all still in flight from it.
    fn retried_attempt(
        &self,
        q: &Queue,
        g: &crate::service::QueueInner,
        now: i64,
        req: &ReceiveRequest,
    ) -> Option<Vec<Received>> {
        let attempt = g
            .attempts
            .get(req.attempt_id.as_ref()?)
            .filter(|a| a.expires_ms > now)?;
        attempt
            .messages
            .iter()
            .map(|&(no, count)| {
                let m = g
                    .state
                    .get(no)
                    .filter(|m| m.receive_count == count && m.visible_at_ms > now)?;
                Some(Received {
                    message: m.clone(),
                    receipt_handle: Receipt {
                        queue: q.id,
                        no,
                        receive_count: count,
                    }
                    .encode(self.key()),
                })
            })
            .collect()
    }

    /// Journals a message's arrival in `target` (a dead letter, or a move task's message)
    /// and returns it as `target` will hold it; [`Sqs::insert_moved`] then adds it, once the
    /// source's lock is released.
    /// The message keeps its id, attributes, sent time and receive count (as AWS's dead
    /// letters do).
    pub(crate) fn push_moved(
        &self,
        target: &Queue,
        m: Message,
        dead_letter_source: Option<String>,
        now: i64,
    ) -> Message {
        self.journal().push_put(target.id, now, |key| Message {
            no: key,
            journal_key: key,
            visible_at_ms: now,
            sequence: target.fifo.then_some(SEQUENCE_BASE + u128::from(key)),
            dead_letter_source,
            ..m
        })
    }

    pub(crate) fn insert_moved(&self, target: &Queue, m: Message) {
        {
            let mut g = target.lock();
            if g.deleted || m.no < g.purged_below {
                return;
            }
            g.state.insert(m);
        }
        target.notify.notify_waiters();
    }

    /// DeleteMessage and DeleteMessageBatch, one result per handle.
    pub async fn delete(&self, name: &str, handles: &[String]) -> Result<Vec<Result<()>>> {
        let q = self.queue(name)?;
        self.delete_in(&q, handles).await
    }

    /// Deletes the messages the handles name from `q`, one result per handle.
    pub(crate) async fn delete_in(&self, q: &Arc<Queue>, handles: &[String]) -> Result<Vec<Result<()>>> {
        let now = self.now();
        let out = {
            let mut g = q.lock();
            handles
                .iter()
                .map(|h| {
                    let r = self.receipt(q, h)?;
                    let Some(m) = g.state.get(r.no) else { return Ok(()) };
                    if q.fifo && (m.receive_count != r.receive_count || m.visible_at_ms <= now) {
                        return Err(QueueError::InvalidParameterValue(format!(
                            "Value {h} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
                        )));
                    }
                    g.state.remove(r.no);
                    self.journal().push(&Record::Delete { queue: q.id, no: r.no }, now);
                    Ok(())
                })
                .collect::<Vec<_>>()
        };
        // A FIFO group may be receivable again.
        q.notify.notify_waiters();
        self.commit().await?;
        Ok(out)
    }

    /// ChangeMessageVisibility(Batch): each message becomes visible `seconds` from now.
    pub async fn change_visibility(&self, name: &str, changes: &[(String, i64)]) -> Result<Vec<Result<()>>> {
        let q = self.queue(name)?;
        self.change_visibility_in(&q, changes, true).await
    }

    /// Changes the visibility of the messages the handles name in `q`; with `cap_total`, no
    /// message stays invisible more than 12 hours from its first receive (SQS's rule).
    pub(crate) async fn change_visibility_in(
        &self,
        q: &Arc<Queue>,
        changes: &[(String, i64)],
        cap_total: bool,
    ) -> Result<Vec<Result<()>>> {
        let now = self.now();
        let out = {
            let mut g = q.lock();
            changes
                .iter()
                .map(|(h, seconds)| {
                    let r = self.receipt(q, h)?;
                    if !(0..=43_200).contains(seconds) {
                        return Err(QueueError::InvalidParameterValue(format!(
                            "Value {seconds} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided."
                        )));
                    }
                    // AWS answers a change after the visibility expired with success, and one
                    // for a message that is gone with this (MessageNotInflight is never seen).
                    let m = g.state.get(r.no).ok_or_else(|| {
                        QueueError::InvalidParameterValue(format!(
                            "Value {h} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change."
                        ))
                    })?;
                    let first = m.first_receive_ms.unwrap_or(now);
                    let visible_at = now + seconds * 1000;
                    if cap_total && visible_at - first > MAX_VISIBILITY_MS {
                        return Err(QueueError::InvalidParameterValue(format!(
                            "Value {seconds} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"
                        )));
                    }
                    let (count, first) = (m.receive_count, m.first_receive_ms);
                    g.state.set_seen(r.no, visible_at, count, first);
                    self.journal().push(
                        &Record::Seen {
                            queue: q.id,
                            no: r.no,
                            visible_at_ms: visible_at,
                            receive_count: count,
                            first_receive_ms: first,
                        },
                        now,
                    );
                    Ok(())
                })
                .collect::<Vec<_>>()
        };
        q.notify.notify_waiters();
        self.commit().await?;
        Ok(out)
    }

    fn receipt(&self, q: &Queue, handle: &str) -> Result<Receipt> {
        Receipt::decode(handle, self.key())
            .filter(|r| r.queue == q.id)
            .ok_or_else(|| {
                QueueError::ReceiptHandleIsInvalid(format!(
                    "The input receipt handle \"{handle}\" is not a valid receipt handle."
                ))
            })
    }
}

/// A content-based deduplication id: the SHA-256 of the body, in hex.
fn content_dedup_id(body: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
