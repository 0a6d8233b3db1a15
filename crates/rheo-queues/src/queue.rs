//! One queue's messages and the rules that move them: sends with delays, receives that make
//! messages invisible for a while, deletes, visibility changes, retention, and FIFO order.
//! Pure: every method takes `now` (milliseconds), and nothing here does I/O; the service
//! journals what these methods change.
//!
//! Standard queues keep every message in one set ordered by the time it is next visible.
//! FIFO queues keep each message group's messages in send order; a group may be received from
//! only when none of its messages is in flight, and then from its front, so order within a
//! group is strict. Groups are offered in the order of their oldest message.

use crate::message::Message;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::ops::Bound::{Excluded, Unbounded};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A message to return from a receive, or one to move to the dead-letter queue.
pub enum Taken {
    Received(Message),
    /// Received more than the RedrivePolicy's maxReceiveCount: leaves this queue.
    DeadLetter(Message),
}

/// What a receive asks for.
#[derive(Debug, Clone, Copy)]
pub struct ReceiveLimits {
    pub max: usize,
    pub visibility_ms: i64,
    /// The RedrivePolicy's maxReceiveCount, if any.
    pub max_receive_count: Option<u32>,
    pub retention_ms: i64,
}

#[derive(Default)]
struct Group {
    /// Message numbers in send order.
    order: VecDeque<u64>,
    /// The group's entry in `QueueState::groups_ready`.
    entry: Option<(i64, u64)>,
}

/// Counts for the Approximate* attributes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

pub struct QueueState {
    fifo: bool,
    messages: HashMap<u64, Message>,
    /// Standard queues: (visible at, message number) of every message.
    ready: BTreeSet<(i64, u64)>,
    /// FIFO queues: the groups, and (gate, oldest message, group) for each group with messages;
    /// the gate is when the group may next be received from.
    groups: HashMap<String, Group>,
    groups_ready: BTreeSet<(i64, u64, String)>,
    /// Messages received at least once, by (visible at, number); those visible later than
    /// now are in flight. Entries already visible are dropped lazily by `in_flight`.
    received: BTreeSet<(i64, u64)>,
    bytes: usize,
    /// Totals of message bytes this queue's bytes count towards (its tenant's, the server's).
    totals: Vec<Arc<AtomicUsize>>,
}

impl QueueState {
    pub fn new(fifo: bool) -> QueueState {
        QueueState::counted(fifo, Vec::new())
    }

    /// A queue whose message bytes also count towards the given totals.
    pub fn counted(fifo: bool, totals: Vec<Arc<AtomicUsize>>) -> QueueState {
        QueueState {
            fifo,
            messages: HashMap::new(),
            ready: BTreeSet::new(),
            groups: HashMap::new(),
            groups_ready: BTreeSet::new(),
            received: BTreeSet::new(),
            bytes: 0,
            totals,
        }
    }

    fn add_bytes(&mut self, n: usize) {
        self.bytes += n;
        for t in &self.totals {
            t.fetch_add(n, Ordering::Relaxed);
        }
    }

    fn sub_bytes(&mut self, n: usize) {
        self.bytes -= n;
        for t in &self.totals {
            t.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// How many messages are in flight at `now`: received, and not visible again yet.
    pub fn in_flight(&mut self, now: i64) -> usize {
        while self.received.first().is_some_and(|&(at, _)| at <= now) {
            self.received.pop_first();
        }
        self.received.len()
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn get(&self, no: u64) -> Option<&Message> {
        self.messages.get(&no)
    }

    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.messages.values()
    }

    /// Adds a message (a send, a replayed record, a dead letter). A message of that number
    /// already held is replaced.
    pub fn insert(&mut self, m: Message) {
        self.remove(m.no);
        let no = m.no;
        self.add_bytes(m.size());
        if m.receive_count > 0 {
            self.received.insert((m.visible_at_ms, no));
        }
        if self.fifo {
            let group = m.group.clone().unwrap_or_default();
            self.messages.insert(no, m);
            let g = self.groups.entry(group.clone()).or_default();
            // Replayed copies keep their place: numbers are in send order.
            let at = g.order.partition_point(|&n| n < no);
            g.order.insert(at, no);
            self.regate(&group);
        } else {
            self.ready.insert((m.visible_at_ms, no));
            self.messages.insert(no, m);
        }
    }

    /// Removes a message; returns it if it was held.
    pub fn remove(&mut self, no: u64) -> Option<Message> {
        let m = self.messages.remove(&no)?;
        self.sub_bytes(m.size());
        self.received.remove(&(m.visible_at_ms, no));
        if self.fifo {
            let group = m.group.clone().unwrap_or_default();
            if let Some(g) = self.groups.get_mut(&group) {
                g.order.retain(|&n| n != no);
            }
            self.regate(&group);
        } else {
            self.ready.remove(&(m.visible_at_ms, no));
        }
        Some(m)
    }

    /// Sets when a message is next visible (a receive, a visibility change, a replay), and
    /// its receive count and first receive time.
    pub fn set_seen(&mut self, no: u64, visible_at_ms: i64, receive_count: u32, first_receive_ms: Option<i64>) {
        let Some(m) = self.messages.get_mut(&no) else { return };
        let before = m.visible_at_ms;
        m.visible_at_ms = visible_at_ms;
        m.receive_count = receive_count;
        m.first_receive_ms = first_receive_ms;
        let group = self.fifo.then(|| m.group.clone().unwrap_or_default());
        self.received.remove(&(before, no));
        if receive_count > 0 {
            self.received.insert((visible_at_ms, no));
        }
        match group {
            Some(group) => self.regate(&group),
            None => {
                self.ready.remove(&(before, no));
                self.ready.insert((visible_at_ms, no));
            }
        }
    }

    /// Recomputes a FIFO group's gate: the latest visibility among its messages received so
    /// far (a prefix of the group) and its first message not yet received (whose delay holds
    /// the rest back).
    fn regate(&mut self, group: &str) {
        let Some(g) = self.groups.get_mut(group) else { return };
        if let Some((gate, head)) = g.entry.take() {
            self.groups_ready.remove(&(gate, head, group.to_owned()));
        }
        let Some(&head) = g.order.front() else {
            self.groups.remove(group);
            return;
        };
        let mut gate = i64::MIN;
        for no in &g.order {
            let Some(m) = self.messages.get(no) else { continue };
            gate = gate.max(m.visible_at_ms);
            if m.receive_count == 0 {
                break;
            }
        }
        g.entry = Some((gate, head));
        self.groups_ready.insert((gate, head, group.to_owned()));
    }

    /// Takes up to `limits.max` visible messages, making each invisible for the visibility
    /// timeout; messages past retention are dropped, and messages received too often are
    /// handed back as dead letters instead. A FIFO receive takes consecutive messages of a
    /// group before it moves to the next group.
    pub fn receive(&mut self, now: i64, limits: ReceiveLimits) -> Vec<Taken> {
        let mut out = Vec::new();
        if self.fifo {
            self.receive_fifo(now, limits, &mut out);
            return out;
        }
        let mut received = 0usize;
        // A message taken with a visibility timeout of 0 is visible again at once: the scan
        // goes on past it, and never takes a message twice.
        let mut cursor = (i64::MIN, 0u64);
        let mut taken = Vec::new();
        while received < limits.max {
            let next = self
                .ready
                .range((Excluded(cursor), Unbounded))
                .find(|(_, no)| !taken.contains(no))
                .copied();
            let Some((at, no)) = next else { break };
            if at > now {
                break;
            }
            cursor = (at, no);
            taken.push(no);
            received += self.take_into(no, now, limits, &mut out);
        }
        out
    }

    fn receive_fifo(&mut self, now: i64, limits: ReceiveLimits, out: &mut Vec<Taken>) {
        let mut received = 0usize;
        // Each pass takes from one group and closes its gate (or removes it), so the loop ends.
        for _ in 0..self.groups_ready.len() {
            let Some((gate, _, group)) = self.groups_ready.first().cloned() else {
                break;
            };
            if gate > now || received >= limits.max {
                break;
            }
            let order: Vec<u64> = self
                .groups
                .get(&group)
                .map(|g| g.order.iter().copied().collect())
                .unwrap_or_default();
            for no in order {
                let visible = self.messages.get(&no).is_some_and(|m| m.visible_at_ms <= now);
                if received >= limits.max || !visible {
                    break;
                }
                received += self.take_into(no, now, limits, out);
            }
            let stuck = self
                .groups_ready
                .first()
                .is_some_and(|(g, _, name)| *name == group && *g <= now);
            if stuck {
                // Nothing could be taken from it (cannot happen with a consistent state).
                break;
            }
        }
    }

    /// [`QueueState::take`] into `out`; says how many were received (0 or 1).
    fn take_into(&mut self, no: u64, now: i64, limits: ReceiveLimits, out: &mut Vec<Taken>) -> usize {
        let taken = self.take(no, now, limits);
        let received = usize::from(matches!(taken, Some(Taken::Received(_))));
        out.extend(taken);
        received
    }

    /// Receives one visible message: dropped if past retention, a dead letter if received
    /// too often, otherwise made invisible and returned.
    fn take(&mut self, no: u64, now: i64, limits: ReceiveLimits) -> Option<Taken> {
        let m = self.messages.get(&no)?;
        if m.sent_ms.saturating_add(limits.retention_ms) <= now {
            self.remove(no);
            return None;
        }
        if limits.max_receive_count.is_some_and(|max| m.receive_count >= max) {
            return self.remove(no).map(Taken::DeadLetter);
        }
        let count = m.receive_count.saturating_add(1);
        let first = m.first_receive_ms.or(Some(now));
        self.set_seen(no, now.saturating_add(limits.visibility_ms), count, first);
        self.messages.get(&no).cloned().map(Taken::Received)
    }

    /// When the next message becomes receivable (for a long poll's wake-up), if any is
    /// waiting.
    pub fn next_visible_at(&self) -> Option<i64> {
        if self.fifo {
            self.groups_ready.first().map(|(gate, _, _)| *gate)
        } else {
            self.ready.first().map(|(at, _)| *at)
        }
    }

    /// How many messages are receivable at `now`, counting at most `cap` (standard queues).
    pub fn visible_count(&self, now: i64, cap: usize) -> usize {
        self.ready.range(..=(now, u64::MAX)).take(cap).count()
    }

    /// The receivable messages of a standard queue already received `max_receive_count`
    /// times or more (dead letters waiting for the next receive to move them).
    pub fn exhausted(&self, now: i64, max_receive_count: u32) -> Vec<u64> {
        self.ready
            .range(..=(now, u64::MAX))
            .filter(|(_, no)| {
                self.messages
                    .get(no)
                    .is_some_and(|m| m.receive_count >= max_receive_count)
            })
            .map(|(_, no)| *no)
            .collect()
    }

    /// Messages whose retention has passed, dropped; returns their numbers.
    pub fn expire(&mut self, now: i64, retention_ms: i64) -> Vec<u64> {
        let old: Vec<u64> = self
            .messages
            .values()
            .filter(|m| m.sent_ms.saturating_add(retention_ms) <= now)
            .map(|m| m.no)
            .collect();
        for no in &old {
            self.remove(*no);
        }
        old
    }

    /// Drops every message (the queue is deleted).
    pub fn clear(&mut self) {
        self.messages.clear();
        self.ready.clear();
        self.groups.clear();
        self.groups_ready.clear();
        self.received.clear();
        self.sub_bytes(self.bytes);
    }

    /// Removes every message numbered below `below`; returns how many.
    pub fn purge(&mut self, below: u64) -> usize {
        let nos: Vec<u64> = self.messages.keys().copied().filter(|&n| n < below).collect();
        for no in &nos {
            self.remove(*no);
        }
        nos.len()
    }

    pub fn counts(&self, now: i64) -> Counts {
        let mut c = Counts::default();
        for m in self.messages.values() {
            if m.visible_at_ms <= now {
                c.visible += 1;
            } else if m.receive_count > 0 {
                c.in_flight += 1;
            } else {
                c.delayed += 1;
            }
        }
        c
    }
}

impl Drop for QueueState {
    /// A queue deleted or replaced no longer holds its bytes.
    fn drop(&mut self) {
        for t in &self.totals {
            t.fetch_sub(self.bytes, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn msg(no: u64, group: Option<&str>, sent: i64, delay: i64) -> Message {
        Message {
            no,
            id: format!("id-{no}"),
            body: Bytes::from(format!("body {no}")),
            attributes: Vec::new(),
            trace_header: None,
            sent_ms: sent,
            visible_at_ms: sent + delay,
            receive_count: 0,
            first_receive_ms: None,
            group: group.map(str::to_owned),
            dedup_id: None,
            sequence: None,
            dead_letter_source: None,
            sender: "000000000000".into(),
            journal_key: 0,
        }
    }

    fn limits(max: usize) -> ReceiveLimits {
        ReceiveLimits {
            max,
            visibility_ms: 30_000,
            max_receive_count: None,
            retention_ms: 345_600_000,
        }
    }

    fn nos(taken: &[Taken]) -> Vec<u64> {
        taken
            .iter()
            .map(|t| match t {
                Taken::Received(m) => m.no,
                Taken::DeadLetter(m) => 1000 + m.no,
            })
            .collect()
    }

    #[test]
    fn standard_messages_hide_while_in_flight_and_return_after() {
        let mut q = QueueState::new(false);
        q.insert(msg(1, None, 0, 0));
        q.insert(msg(2, None, 0, 5_000));
        assert_eq!(nos(&q.receive(0, limits(10))), vec![1]);
        assert_eq!(nos(&q.receive(1, limits(10))), Vec::<u64>::new());
        assert_eq!(
            q.counts(1),
            Counts {
                visible: 0,
                in_flight: 1,
                delayed: 1
            }
        );
        assert_eq!(nos(&q.receive(5_000, limits(10))), vec![2]);
        assert_eq!(nos(&q.receive(30_000, limits(10))), vec![1]);
        assert_eq!(q.get(1).unwrap().receive_count, 2);
        assert_eq!(q.get(1).unwrap().first_receive_ms, Some(0));
        q.remove(1);
        assert_eq!(q.next_visible_at(), Some(35_000));
    }

    #[test]
    fn fifo_groups_are_strictly_ordered_and_blocked_while_in_flight() {
        let mut q = QueueState::new(true);
        q.insert(msg(1, Some("a"), 0, 0));
        q.insert(msg(2, Some("b"), 0, 0));
        q.insert(msg(3, Some("a"), 0, 0));
        q.insert(msg(4, Some("a"), 0, 0));
        assert_eq!(nos(&q.receive(0, limits(2))), vec![1, 3]);
        // Group a is in flight: only b is offered, even though a's 4 is older than nothing.
        assert_eq!(nos(&q.receive(0, limits(10))), vec![2]);
        assert_eq!(nos(&q.receive(1, limits(10))), Vec::<u64>::new());
        q.remove(1);
        assert_eq!(
            nos(&q.receive(1, limits(10))),
            Vec::<u64>::new(),
            "3 is still in flight"
        );
        q.remove(3);
        assert_eq!(nos(&q.receive(1, limits(10))), vec![4]);
        // An expired visibility offers the same message again, first.
        assert_eq!(nos(&q.receive(40_000, limits(10))), vec![2, 4]);
    }

    #[test]
    fn fifo_visibility_change_to_zero_reopens_the_group() {
        let mut q = QueueState::new(true);
        q.insert(msg(1, Some("a"), 0, 0));
        q.insert(msg(2, Some("a"), 0, 0));
        assert_eq!(nos(&q.receive(0, limits(1))), vec![1]);
        let m = q.get(1).unwrap().clone();
        q.set_seen(1, 10, m.receive_count, m.first_receive_ms);
        assert_eq!(nos(&q.receive(10, limits(1))), vec![1]);
    }

    #[test]
    fn too_many_receives_make_a_dead_letter_and_retention_drops() {
        let mut q = QueueState::new(false);
        q.insert(msg(1, None, 0, 0));
        let l = ReceiveLimits {
            max_receive_count: Some(2),
            visibility_ms: 0,
            ..limits(10)
        };
        assert_eq!(nos(&q.receive(0, l)), vec![1]);
        assert_eq!(nos(&q.receive(1, l)), vec![1]);
        assert_eq!(nos(&q.receive(2, l)), vec![1001]);
        assert!(q.is_empty());
        q.insert(msg(2, None, 0, 0));
        let l = ReceiveLimits {
            retention_ms: 60_000,
            ..limits(10)
        };
        assert_eq!(nos(&q.receive(60_000, l)), Vec::<u64>::new());
        assert!(q.is_empty());
        assert_eq!(q.bytes(), 0);
    }

    #[test]
    fn visible_and_exhausted_messages_are_counted_without_receiving() {
        let mut q = QueueState::new(false);
        q.insert(msg(1, None, 0, 0));
        q.insert(msg(2, None, 0, 0));
        q.insert(msg(3, None, 0, 10_000));
        assert_eq!(q.visible_count(0, 10), 2);
        assert_eq!(q.visible_count(0, 1), 1);
        let l = ReceiveLimits {
            visibility_ms: 100,
            ..limits(1)
        };
        assert_eq!(nos(&q.receive(0, l)), vec![1]);
        assert_eq!(q.visible_count(0, 10), 1);
        assert!(q.exhausted(100, 1).contains(&1));
        assert!(!q.exhausted(99, 1).contains(&1), "still in flight");
        assert_eq!(q.exhausted(100, 2), Vec::<u64>::new());
        assert_eq!(q.visible_count(10_000, 10), 3);
    }

    #[test]
    fn replays_keep_group_order_and_purge_removes_older() {
        let mut q = QueueState::new(true);
        q.insert(msg(5, Some("a"), 0, 0));
        q.insert(msg(2, Some("a"), 0, 0));
        assert_eq!(nos(&q.receive(0, limits(10))), vec![2, 5]);
        q.insert(msg(7, Some("a"), 0, 0));
        assert_eq!(q.purge(6), 2);
        assert_eq!(q.len(), 1);
        assert_eq!(nos(&q.receive(0, limits(10))), vec![7]);
    }
}
