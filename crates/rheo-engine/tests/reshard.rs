//! Resharding scenarios from `tests/reshard/*.txt`, run against the pure shard-map code.
//!
//! A scenario is a script, one command per line (`#` starts a comment):
//!
//! ```text
//! create N                      a stream of N shards splitting the hash space evenly
//! split S at KEY                SplitShard of shardId S at NewStartingHashKey KEY
//! merge A B                     MergeShards of A with adjacent B
//! scale N                       UpdateShardCount to N (UNIFORM_SCALING)
//! <command> -> error KIND       the command must be refused with that ReshardError kind
//! expect                        the whole shard map, one line per shard, up to `end`:
//!   ID open|closed START..END [parent P] [adjacent A]
//! ```
//!
//! Hash keys are decimals, `max` (2^128 - 1), or `N/D` (N times floor(2^128 / D), the
//! boundaries of an even split into D shards), optionally followed by `-1` or `+1`. After every
//! command the harness also checks the invariants: the open shards cover the hash space exactly
//! once, and every shard's sequence numbers start above the end of each of its parents'.

use rheo_engine::catalog::ShardMeta;
use rheo_engine::reshard::{self, Reshard, ReshardError};
use rheo_types::{SequenceNumber, ShardId};

fn key(expr: &str) -> u128 {
    let (base, delta) = match expr.strip_suffix("-1") {
        Some(b) => (b, -1i8),
        None => match expr.strip_suffix("+1") {
            Some(b) => (b, 1),
            None => (expr, 0),
        },
    };
    let v = if base == "max" {
        u128::MAX
    } else if let Some((n, d)) = base.split_once('/') {
        let (n, d): (u128, u128) = (n.parse().unwrap(), d.parse().unwrap());
        let step = u128::MAX / d + u128::from(u128::MAX % d == d - 1);
        n * step
    } else {
        base.parse().unwrap_or_else(|_| panic!("bad hash key {expr}"))
    };
    match delta {
        -1 => v - 1,
        1 => v + 1,
        _ => v,
    }
}

fn kind(e: &ReshardError) -> &'static str {
    match e {
        ReshardError::ShardNotFound(_) => "ShardNotFound",
        ReshardError::NotOpen(_) => "NotOpen",
        ReshardError::SplitOutOfRange { .. } => "SplitOutOfRange",
        ReshardError::NotAdjacent(..) => "NotAdjacent",
        ReshardError::TargetOutOfBounds { .. } => "TargetOutOfBounds",
    }
}

fn describe(s: &ShardMeta) -> String {
    let mut line = format!(
        "{} {} {}..{}",
        s.id.0,
        if s.is_open() { "open" } else { "closed" },
        s.range.start,
        s.range.end
    );
    if let Some(p) = s.parent {
        line += &format!(" parent {}", p.0);
    }
    if let Some(a) = s.adjacent_parent {
        line += &format!(" adjacent {}", a.0);
    }
    line
}

fn normalize_expected(line: &str) -> String {
    let mut words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    if let Some((a, b)) = words.get(2).and_then(|r| r.split_once("..")) {
        words[2] = format!("{}..{}", key(a), key(b));
    }
    words.join(" ")
}

fn check_invariants(shards: &[ShardMeta], ctx: &str) {
    let open = reshard::open_shards(shards);
    assert_eq!(
        open.first().map(|s| s.range.start),
        Some(0),
        "{ctx}: open shards start at 0"
    );
    assert_eq!(
        open.last().map(|s| s.range.end),
        Some(u128::MAX),
        "{ctx}: open shards end at max"
    );
    for w in open.windows(2) {
        assert_eq!(
            w[0].range.end + 1,
            w[1].range.start,
            "{ctx}: open shards touch without overlap"
        );
    }
    for s in shards {
        if let Some(end) = s.ending_counter {
            assert!(end >= s.starting_counter, "{ctx}: shard {} ends before it starts", s.id);
        }
        for p in s.parent.iter().chain(s.adjacent_parent.iter()) {
            let parent = &shards[p.0 as usize];
            let parent_end = parent.ending_counter.expect("a parent is closed");
            assert!(
                s.starting_counter > parent_end,
                "{ctx}: shard {} starts at or before the end of its parent {}",
                s.id,
                p
            );
        }
    }
}

fn run(path: &std::path::Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut shards: Vec<ShardMeta> = Vec::new();
    let mut now = 1_000i64;
    let mut lines = text.lines().enumerate();
    while let Some((n, raw)) = lines.next() {
        let line = raw.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let ctx = format!("{name}:{}: {line}", n + 1);
        let (command, expected_error) = match line.split_once("-> error") {
            Some((c, e)) => (c.trim(), Some(e.trim())),
            None => (line, None),
        };
        let words: Vec<&str> = command.split_whitespace().collect();
        let op = match words.as_slice() {
            ["create", count] => {
                shards = reshard::initial(count.parse().unwrap(), now);
                check_invariants(&shards, &ctx);
                continue;
            }
            ["expect"] => {
                let mut expected = Vec::new();
                for (_, l) in lines.by_ref() {
                    let l = l.split('#').next().unwrap().trim();
                    if l == "end" {
                        break;
                    }
                    if !l.is_empty() {
                        expected.push(normalize_expected(l));
                    }
                }
                let actual: Vec<String> = shards.iter().map(describe).collect();
                assert_eq!(actual, expected, "{ctx}");
                continue;
            }
            ["split", s, "at", k] => Reshard::Split {
                shard: ShardId(s.parse().unwrap()),
                new_start: key(k),
            },
            ["merge", a, b] => Reshard::Merge {
                shard: ShardId(a.parse().unwrap()),
                adjacent: ShardId(b.parse().unwrap()),
            },
            ["scale", t] => Reshard::Uniform {
                target: t.parse().unwrap(),
            },
            _ => panic!("{ctx}: unknown command"),
        };
        match (reshard::check(&shards, &op), expected_error) {
            (Err(e), Some(want)) => assert_eq!(kind(&e), want, "{ctx}"),
            (Err(e), None) => panic!("{ctx}: refused with {e:?}"),
            (Ok(()), Some(want)) => panic!("{ctx}: accepted, expected error {want}"),
            (Ok(()), None) => {
                now += 1_000;
                let before = shards.clone();
                let closing = reshard::closing(&shards, &op);
                let close = SequenceNumber::counter_at(now);
                let opened = reshard::apply(&mut shards, &op, now, close);
                check_invariants(&shards, &ctx);
                for id in &closing {
                    assert!(
                        before[id.0 as usize].is_open() && !shards[id.0 as usize].is_open(),
                        "{ctx}"
                    );
                }
                let open_now: Vec<ShardId> = reshard::open_shards(&shards).iter().map(|s| s.id).collect();
                for id in &opened {
                    assert!(open_now.contains(id), "{ctx}: reported open shard {id} is not open");
                }
                // Every open shard is either new or was open before and not closed.
                for id in &open_now {
                    assert!(
                        opened.contains(id) || (before[id.0 as usize].is_open() && !closing.contains(id)),
                        "{ctx}"
                    );
                }
            }
        }
    }
}

#[test]
fn reshard_scenarios() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reshard");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "scenario files are missing from {}", dir.display());
    for f in files {
        run(&f);
    }
}
