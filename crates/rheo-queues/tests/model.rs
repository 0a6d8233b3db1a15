//! A model test of the queues on the simulated disk: messages sent, received and deleted on a
//! standard and a FIFO queue, the journal compacted, I/O errors and full disks injected into
//! any disk operation, and power cuts. After every power cut and restart, every acknowledged
//! send that was not acknowledged deleted is there, no acknowledged delete comes back, a
//! message whose call failed may be there or not, and nothing else appears.

use proptest::prelude::*;
use rheo_log::disk::{EIO, ENOSPC, Op, SimDisk};
use rheo_log::{Durability, LogConfig};
use rheo_queues::{ReceiveRequest, SendEntry, Sqs, SqsConfig};
use rheo_types::clock::{Clock, ManualClock};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone)]
enum Step {
    Send(usize),
    Receive(usize),
    Delete(usize),
    Tick,
    Fail(Op, usize, bool),
    PowerCut(usize),
}

const QUEUES: [&str; 2] = ["standard", "ordered.fifo"];

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let op = prop_oneof![
        Just(Op::Write),
        Just(Op::Sync),
        Just(Op::SetLen),
        Just(Op::Open),
        Just(Op::Rename),
        Just(Op::SyncDir)
    ];
    prop::collection::vec(
        prop_oneof![
            8 => (0..2usize).prop_map(Step::Send),
            3 => (0..2usize).prop_map(Step::Receive),
            3 => any::<usize>().prop_map(Step::Delete),
            1 => Just(Step::Tick),
            1 => (op, 1..3usize, any::<bool>()).prop_map(|(o, n, f)| Step::Fail(o, n, f)),
            1 => any::<usize>().prop_map(Step::PowerCut),
        ],
        1..60,
    )
}

/// Opened off the runtime, so the service starts no background tick: the steps alone drive
/// it, and no tick of a dropped instance can still be writing when the power is cut.
fn open(disk: &SimDisk, clock: &Arc<ManualClock>) -> Sqs {
    let (disk, clock) = (disk.clone(), clock.clone());
    std::thread::spawn(move || open_here(&disk, &clock)).join().unwrap()
}

fn open_here(disk: &SimDisk, clock: &Arc<ManualClock>) -> Sqs {
    let config = SqsConfig {
        data_dir: PathBuf::from("/rheo-queues-model/sqs"),
        account: "000000000000".into(),
        region: "us-east-1".into(),
        log: LogConfig {
            // Small segments, so compaction copies and drops segments often.
            segment_bytes: 2048,
            durability: Durability::Fsync,
            ..LogConfig::default()
        },
        limits: rheo_queues::SqsLimits::default(),
        server_bytes: Default::default(),
    };
    Sqs::open(config, clock.clone() as Arc<dyn Clock>, Arc::new(disk.clone()))
        .expect("the queues open after any power cut")
}

#[derive(Default, Debug)]
struct Model {
    /// Per queue: bodies acknowledged sent and not acknowledged deleted.
    live: [BTreeSet<String>; 2],
    /// Bodies whose delete was acknowledged: they never come back.
    deleted: BTreeSet<String>,
    /// Bodies whose send or delete failed: either is right.
    doubtful: BTreeSet<String>,
    /// Receipt handles seen, with the queue and body.
    handles: Vec<(usize, String, String)>,
}

/// Every message a queue holds.
fn contents(sqs: &Sqs, q: usize) -> BTreeSet<String> {
    let all = sqs.stored(QUEUES[q]).expect("the queue is there after a restart");
    all.iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect()
}

async fn run(steps: Vec<Step>) {
    let disk = SimDisk::default();
    let clock = Arc::new(ManualClock::default());
    let mut sqs = open(&disk, &clock);
    for (i, name) in QUEUES.iter().enumerate() {
        let attrs = if i == 1 {
            BTreeMap::from([
                ("FifoQueue".to_owned(), "true".to_owned()),
                ("ContentBasedDeduplication".to_owned(), "true".to_owned()),
            ])
        } else {
            BTreeMap::new()
        };
        sqs.create_queue(name, attrs, BTreeMap::new()).await.unwrap();
    }
    let mut m = Model::default();
    for (n, step) in steps.into_iter().enumerate() {
        match step {
            Step::Send(q) => {
                let body = format!("m{n}");
                let entry = SendEntry {
                    body: body.clone(),
                    group: (q == 1).then(|| "g".to_owned()),
                    ..SendEntry::default()
                };
                match sqs.send(QUEUES[q], vec![entry], "000000000000", false).await {
                    Ok(r) if r[0].is_ok() => {
                        m.live[q].insert(body);
                    }
                    _ => {
                        m.doubtful.insert(body);
                    }
                }
            }
            Step::Receive(q) => {
                let req = ReceiveRequest {
                    max: Some(3),
                    visibility_s: Some(30),
                    wait_s: Some(0),
                    attempt_id: None,
                };
                if let Ok(got) = sqs.receive(QUEUES[q], req).await {
                    for r in got {
                        let body = String::from_utf8(r.message.body.to_vec()).unwrap();
                        m.handles.push((q, body, r.receipt_handle));
                    }
                }
            }
            Step::Delete(pick) => {
                if m.handles.is_empty() {
                    continue;
                }
                let (q, body, handle) = m.handles.remove(pick % m.handles.len());
                match sqs.delete(QUEUES[q], &[handle]).await {
                    Ok(r) if r[0].is_ok() => {
                        if m.live[q].remove(&body) || m.doubtful.contains(&body) {
                            m.deleted.insert(body);
                        }
                    }
                    // An expired FIFO handle: nothing changed.
                    Ok(_) => {}
                    Err(_) => {
                        if m.live[q].remove(&body) {
                            m.doubtful.insert(body);
                        }
                    }
                }
            }
            Step::Tick => sqs.tick().await,
            Step::Fail(op, times, full) => disk.fail(op, times, if full { ENOSPC } else { EIO }),
            Step::PowerCut(seed) => {
                drop(sqs);
                let mut rng = seed;
                disk.power_cut(|_, len| {
                    rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    if len == 0 { 0 } else { (rng >> 33) % (len + 1) }
                });
                sqs = open(&disk, &clock);
                m.handles.clear();
                for (q, name) in QUEUES.iter().enumerate() {
                    let held = contents(&sqs, q);
                    for body in &m.live[q] {
                        assert!(
                            held.contains(body),
                            "acknowledged {body} of {} is lost: {held:?}",
                            QUEUES[q]
                        );
                    }
                    for body in &held {
                        assert!(!m.deleted.contains(body), "deleted {body} came back");
                        assert!(
                            m.live[q].contains(body) || m.doubtful.contains(body),
                            "{body} appeared in {name}"
                        );
                    }
                    // What survived is now known: doubtful ones that came back are live.
                    for body in &held {
                        if m.doubtful.remove(body) {
                            m.live[q].insert(body.clone());
                        }
                    }
                }
                m.doubtful.clear();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn acknowledged_messages_survive_power_cuts_and_deletes_stay_deleted(steps in steps()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(steps));
    }
}

/// Compaction: with most messages deleted, old segments go; the live messages (and a FIFO
/// deduplication id whose message is gone) are copied forward and survive a power cut.
#[test]
fn compaction_drops_old_segments_and_keeps_live_state() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let disk = SimDisk::default();
        let clock = Arc::new(ManualClock::default());
        let sqs = open(&disk, &clock);
        let fifo = BTreeMap::from([("FifoQueue".to_owned(), "true".to_owned())]);
        sqs.create_queue("q", BTreeMap::new(), BTreeMap::new()).await.unwrap();
        sqs.create_queue("f.fifo", fifo, BTreeMap::new()).await.unwrap();
        let dedup = SendEntry {
            body: "once".into(),
            group: Some("g".into()),
            dedup_id: Some("d".into()),
            ..SendEntry::default()
        };
        let first = sqs.send("f.fifo", vec![dedup.clone()], "0", false).await.unwrap();
        let first_id = first[0].as_ref().unwrap().message_id.clone();
        for n in 0..300 {
            let e = SendEntry {
                body: format!("body {n:04} {}", "x".repeat(40)),
                ..SendEntry::default()
            };
            sqs.send("q", vec![e], "0", false).await.unwrap();
        }
        // Receive and delete all but the first and last ten, and the FIFO message.
        let req = ReceiveRequest {
            max: Some(10),
            visibility_s: Some(300),
            wait_s: Some(0),
            attempt_id: None,
        };
        let got = sqs.receive("f.fifo", req.clone()).await.unwrap();
        sqs.delete("f.fifo", &[got[0].receipt_handle.clone()]).await.unwrap();
        loop {
            let got = sqs.receive("q", req.clone()).await.unwrap();
            if got.is_empty() {
                break;
            }
            for r in got {
                let body = String::from_utf8(r.message.body.to_vec()).unwrap();
                let n: usize = body[5..9].parse().unwrap();
                if (10..290).contains(&n) {
                    sqs.delete("q", &[r.receipt_handle]).await.unwrap();
                }
            }
        }
        let journal = PathBuf::from("/rheo-queues-model/sqs/journal");
        let before = disk.files_in(&journal).len();
        for _ in 0..20 {
            sqs.tick().await;
        }
        let after = disk.files_in(&journal).len();
        assert!(before > 8, "the test writes many segments ({before})");
        assert!(after <= 4, "compaction leaves few segments: {before} -> {after}");
        drop(sqs);
        disk.power_cut(|_, _| 0);
        let sqs = open(&disk, &clock);
        let left = sqs.stored("q").unwrap();
        assert_eq!(left.len(), 20);
        assert!(sqs.stored("f.fifo").unwrap().is_empty());
        let again = sqs.send("f.fifo", vec![dedup], "0", false).await.unwrap();
        assert_eq!(again[0].as_ref().unwrap().message_id, first_id, "still deduplicated");
        assert!(sqs.stored("f.fifo").unwrap().is_empty());
    });
}

/// After a failed journal write, memory may be ahead of the disk: every later change is
/// refused (none is acknowledged without being on disk) until the service is reopened.
#[test]
fn a_failed_journal_write_refuses_every_later_change_until_reopened() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let disk = SimDisk::default();
        let clock = Arc::new(ManualClock::default());
        let sqs = open(&disk, &clock);
        sqs.create_queue("q", BTreeMap::new(), BTreeMap::new()).await.unwrap();
        let entry = |b: &str| SendEntry {
            body: b.into(),
            ..SendEntry::default()
        };
        sqs.send("q", vec![entry("kept")], "0", false).await.unwrap();
        disk.fail(Op::Sync, 1, EIO);
        assert!(sqs.send("q", vec![entry("failed")], "0", false).await.is_err());
        assert!(
            sqs.send("q", vec![entry("after")], "0", false).await.is_err(),
            "refused until reopened"
        );
        drop(sqs);
        let sqs = open(&disk, &clock);
        let bodies: Vec<String> = sqs
            .stored("q")
            .unwrap()
            .iter()
            .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
            .collect();
        assert_eq!(bodies, ["kept"]);
        sqs.send("q", vec![entry("again")], "0", false).await.unwrap();
    });
}

/// A move task is durable: one cut off by a power cut goes on after the restart, moving what
/// it had left, and a cancelled one stays cancelled.
#[test]
fn a_running_move_task_goes_on_after_a_power_cut() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let disk = SimDisk::default();
        let clock = Arc::new(ManualClock::default());
        let sqs = open(&disk, &clock);
        sqs.create_queue("dlq", BTreeMap::new(), BTreeMap::new()).await.unwrap();
        let redrive = format!(
            r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":"1"}}"#,
            sqs.queue_arn("dlq")
        );
        let attrs = BTreeMap::from([("RedrivePolicy".to_owned(), redrive)]);
        sqs.create_queue("src", attrs, BTreeMap::new()).await.unwrap();
        for n in 0..5 {
            let e = SendEntry {
                body: format!("m{n}"),
                ..SendEntry::default()
            };
            sqs.send("src", vec![e], "0", false).await.unwrap();
        }
        let req = ReceiveRequest {
            max: Some(10),
            visibility_s: Some(0),
            wait_s: Some(0),
            attempt_id: None,
        };
        assert_eq!(sqs.receive("src", req.clone()).await.unwrap().len(), 5);
        assert!(
            sqs.receive("src", req.clone()).await.unwrap().is_empty(),
            "all dead letters now"
        );
        assert_eq!(sqs.stored("dlq").unwrap().len(), 5);

        let dlq_arn = sqs.queue_arn("dlq");
        let handle = sqs.start_move_task(&dlq_arn, None, Some(2)).unwrap();
        sqs.tick().await;
        assert_eq!(sqs.stored("src").unwrap().len(), 2, "two a second");
        drop(sqs);
        disk.power_cut(|_, _| 0);

        let sqs = open(&disk, &clock);
        let task = &sqs.list_move_tasks(&dlq_arn, None).unwrap()[0];
        assert_eq!(
            (task.handle.as_str(), task.status),
            (handle.as_str(), rheo_queues::MoveStatus::Running)
        );
        assert_eq!((task.moved, task.to_move), (2, 5));
        for _ in 0..3 {
            sqs.tick().await;
        }
        let task = &sqs.list_move_tasks(&dlq_arn, None).unwrap()[0];
        assert_eq!((task.status, task.moved), (rheo_queues::MoveStatus::Completed, 5));
        let mut back: Vec<String> = sqs
            .stored("src")
            .unwrap()
            .iter()
            .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
            .collect();
        back.sort();
        assert_eq!(back, ["m0", "m1", "m2", "m3", "m4"]);
        assert!(sqs.stored("dlq").unwrap().is_empty());

        // A cancelled task stays cancelled across a restart.
        assert_eq!(sqs.receive("src", req.clone()).await.unwrap().len(), 5);
        assert!(sqs.receive("src", req.clone()).await.unwrap().is_empty());
        let handle = sqs.start_move_task(&dlq_arn, None, Some(1)).unwrap();
        assert_eq!(sqs.cancel_move_task(&handle).unwrap(), 0);
        drop(sqs);
        disk.power_cut(|_, _| 0);
        let sqs = open(&disk, &clock);
        let tasks = sqs.list_move_tasks(&dlq_arn, Some(10)).unwrap();
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].status, rheo_queues::MoveStatus::Cancelled);
        sqs.tick().await;
        assert_eq!(sqs.stored("dlq").unwrap().len(), 5, "nothing moved after the cancel");
    });
}
