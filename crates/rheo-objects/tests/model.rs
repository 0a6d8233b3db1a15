//! A model test of local buckets on the simulated disk: puts (replacing keys too), deletes,
//! injected I/O errors and full disks, and power cuts that lose every unsynced byte and tear
//! partial writes. After every cut and reopen, each acknowledged put not later deleted reads
//! back byte for byte, no acknowledged delete comes back, an object whose call failed is there
//! whole or not at all, and nothing else appears.

use proptest::prelude::*;
use rheo_log::disk::{EIO, ENOSPC, Op, SimDisk};
use rheo_log::{Disk, LogConfig};
use rheo_objects::local::{LocalStore, PutInput};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone)]
enum Step {
    Put(usize, usize),
    Delete(usize),
    Fail(Op, usize, bool),
    PowerCut(usize),
}

const KEYS: [&str; 4] = ["a", "a/b", "dir/x y", "é"];

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let op = prop_oneof![
        Just(Op::Write),
        Just(Op::Sync),
        Just(Op::Open),
        Just(Op::Rename),
        Just(Op::SyncDir)
    ];
    prop::collection::vec(
        prop_oneof![
            // Small objects go inline in the index log; larger ones get files of their own.
            4 => (0..4usize, 0..5000usize).prop_map(|(k, n)| Step::Put(k, n)),
            2 => (0..4usize, 65_530..70_000usize).prop_map(|(k, n)| Step::Put(k, n)),
            2 => (0..4usize).prop_map(Step::Delete),
            1 => (op, 1..3usize, any::<bool>()).prop_map(|(o, n, f)| Step::Fail(o, n, f)),
            1 => any::<usize>().prop_map(Step::PowerCut),
        ],
        1..40,
    )
}

/// Opens the store; an injected fault still pending may fail an attempt (each fault fires
/// once), never all of them.
fn open(disk: &SimDisk) -> LocalStore {
    let config = LogConfig {
        segment_bytes: 4096,
        ..LogConfig::default()
    };
    let mut last = None;
    for _ in 0..8 {
        match LocalStore::open(Arc::new(disk.clone()), Path::new("/s3"), config) {
            Ok(s) => return s,
            Err(e) => last = Some(e),
        }
    }
    panic!("the store does not open after a power cut: {last:?}");
}

fn body(key: usize, n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 + key * 7 + n) as u8).collect()
}

/// What a key may hold: the acknowledged content, or (after a failed call) also another.
#[derive(Debug, Default, Clone)]
struct Expect {
    sure: Option<Option<Vec<u8>>>,
    maybe: Vec<Option<Vec<u8>>>,
}

fn check(store: &LocalStore, model: &BTreeMap<usize, Expect>) {
    for (k, e) in model {
        let got = match store.open_object("bkt", KEYS[*k]) {
            Ok((meta, f)) => {
                let mut buf = vec![0u8; meta.size as usize];
                let n = rheo_log::disk::read_full_at(&*f, &mut buf, 0).unwrap();
                assert_eq!(n, buf.len(), "a whole object");
                Some(buf)
            }
            Err(_) => None,
        };
        let allowed = e.sure.iter().chain(e.maybe.iter()).any(|c| *c == got);
        assert!(allowed, "key {} holds {:?} bytes", KEYS[*k], got.map(|g| g.len()));
    }
    for (name, _) in store
        .list_objects("bkt", &Default::default())
        .map(|p| p.contents)
        .unwrap_or_default()
    {
        assert!(KEYS.contains(&name.as_str()));
    }
}

fn run(steps: Vec<Step>) {
    let disk = SimDisk::default();
    let mut store = open(&disk);
    store.create_bucket("bkt", 0).unwrap();
    let mut model: BTreeMap<usize, Expect> = (0..KEYS.len())
        .map(|k| {
            (
                k,
                Expect {
                    sure: Some(None),
                    maybe: Vec::new(),
                },
            )
        })
        .collect();
    for (t, step) in steps.into_iter().enumerate() {
        match step {
            Step::Put(k, n) => {
                let data = body(k, n);
                let r = store.put_object("bkt", KEYS[k], PutInput::default(), &mut data.as_slice(), t as i64);
                let e = model.get_mut(&k).unwrap();
                match r {
                    Ok(meta) => {
                        assert_eq!(meta.size, n as u64);
                        *e = Expect {
                            sure: Some(Some(data)),
                            maybe: Vec::new(),
                        };
                    }
                    Err(_) => e.maybe.push(Some(data)),
                }
            }
            Step::Delete(k) => {
                let r = store.delete_object("bkt", KEYS[k], t as i64);
                let e = model.get_mut(&k).unwrap();
                match r {
                    Ok(_) => {
                        *e = Expect {
                            sure: Some(None),
                            maybe: Vec::new(),
                        }
                    }
                    Err(_) => e.maybe.push(None),
                }
            }
            Step::Fail(op, n, full) => disk.fail(op, n, if full { ENOSPC } else { EIO }),
            Step::PowerCut(seed) => {
                drop(store);
                let mut rng = seed;
                disk.power_cut(|_, len| {
                    rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    if len == 0 { 0 } else { (rng >> 33) % (len + 1) }
                });
                store = open(&disk);
                check(&store, &model);
            }
        }
    }
    drop(store);
    disk.power_cut(|_, _| 0);
    let store = open(&disk);
    check(&store, &model);
    // Nothing but live objects' files are left.
    let files = disk.list(Path::new("/s3/bkt/data")).unwrap();
    let live = store
        .list_objects(
            "bkt",
            &rheo_objects::listing::ListRequest {
                max_keys: 100,
                ..Default::default()
            },
        )
        .unwrap();
    let with_files = live.contents.iter().filter(|(_, m)| m.inline.is_none()).count();
    assert_eq!(files.len(), with_files, "orphaned data files are removed at open");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn acknowledged_objects_survive_power_cuts_whole(steps in steps()) {
        run(steps);
    }
}
