//! Listing keys as S3's ListObjectsV2 and ListObjects do, over any sorted map of keys (pure).
//!
//! Keys are listed in byte order (UTF-8 binary order, as S3's), from after `after` (the larger
//! of StartAfter and the continuation token, or ListObjects' Marker). With a delimiter, a key
//! whose part after the prefix holds it is rolled up into a common prefix (the prefix, that
//! part up to and including its first delimiter), listed once; common prefixes count towards
//! MaxKeys like keys. When the list is cut, `next` is the last key or common prefix returned:
//! a continuation from a common prefix skips every key under it.

use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Included, Unbounded};

/// What a listing asks for.
#[derive(Debug, Clone, Default)]
pub struct ListRequest<'a> {
    pub prefix: &'a str,
    /// An empty delimiter is none.
    pub delimiter: Option<&'a str>,
    /// Keys (and common prefixes) up to and including this one are skipped.
    pub after: Option<&'a str>,
    /// At most this many keys and common prefixes together (S3: 0–1,000, default 1,000).
    pub max_keys: usize,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage<'a, V> {
    pub contents: Vec<(&'a str, &'a V)>,
    pub common_prefixes: Vec<String>,
    /// More keys or common prefixes follow.
    pub truncated: bool,
    /// Where the next page starts from (after this), when `truncated`.
    pub next: Option<String>,
}

impl<V> ListPage<'_, V> {
    /// KeyCount: keys and common prefixes returned.
    pub fn key_count(&self) -> usize {
        self.contents.len() + self.common_prefixes.len()
    }
}

/// The common prefix `key` rolls up into, if any.
fn common_prefix<'k>(key: &'k str, prefix: &str, delimiter: Option<&str>) -> Option<&'k str> {
    let d = delimiter.filter(|d| !d.is_empty())?;
    let rest = key.get(prefix.len()..)?;
    let at = rest.find(d)?;
    key.get(..prefix.len() + at + d.len())
}

pub fn list<'a, V>(objects: &'a BTreeMap<String, V>, req: &ListRequest<'_>) -> ListPage<'a, V> {
    let mut page = ListPage {
        contents: Vec::new(),
        common_prefixes: Vec::new(),
        truncated: false,
        next: None,
    };
    // Resuming after a common prefix skips the keys under it.
    let skip_under = req
        .after
        .filter(|a| common_prefix(a, req.prefix, req.delimiter) == Some(*a));
    let start = match req.after {
        Some(a) if a >= req.prefix => Excluded(a.to_owned()),
        _ => Included(req.prefix.to_owned()),
    };
    let mut range = objects.range::<String, _>((start, Unbounded)).peekable();
    while let Some((key, value)) = range.next() {
        if !key.starts_with(req.prefix) {
            if key.as_str() > req.prefix {
                break;
            }
            continue;
        }
        if skip_under.is_some_and(|cp| key.starts_with(cp)) {
            continue;
        }
        let entry = common_prefix(key, req.prefix, req.delimiter);
        if page.key_count() >= req.max_keys {
            page.truncated = true;
            break;
        }
        match entry {
            Some(cp) => {
                page.common_prefixes.push(cp.to_owned());
                page.next = Some(cp.to_owned());
                // Every other key under it rolls into the same prefix.
                while range.next_if(|(k, _)| k.starts_with(cp)).is_some() {}
            }
            None => {
                page.contents.push((key.as_str(), value));
                page.next = Some(key.clone());
            }
        }
    }
    if !page.truncated {
        page.next = None;
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bucket(keys: &[&str]) -> BTreeMap<String, ()> {
        keys.iter().map(|k| ((*k).to_owned(), ())).collect()
    }

    fn keys<'a>(p: &ListPage<'a, ()>) -> Vec<&'a str> {
        p.contents.iter().map(|(k, _)| *k).collect()
    }

    /// S3's documented example ("Organizing objects using prefixes"): a delimiter rolls keys
    /// up into common prefixes; a key that is also a prefix of others is itself listed.
    #[test]
    fn delimiters_roll_keys_up_into_common_prefixes() {
        let b = bucket(&[
            "sample.jpg",
            "photos/2006/January/sample.jpg",
            "photos/2006/February/sample2.jpg",
            "photos/2006/February/sample3.jpg",
            "photos/2006/February/sample4.jpg",
            "photos",
        ]);
        let top = list(
            &b,
            &ListRequest {
                delimiter: Some("/"),
                max_keys: 1000,
                ..ListRequest::default()
            },
        );
        assert_eq!(keys(&top), ["photos", "sample.jpg"]);
        assert_eq!(top.common_prefixes, ["photos/"]);
        let year = list(
            &b,
            &ListRequest {
                prefix: "photos/2006/",
                delimiter: Some("/"),
                max_keys: 1000,
                ..ListRequest::default()
            },
        );
        assert!(keys(&year).is_empty());
        assert_eq!(year.common_prefixes, ["photos/2006/February/", "photos/2006/January/"]);
        let all = list(
            &b,
            &ListRequest {
                prefix: "photos/",
                max_keys: 1000,
                ..ListRequest::default()
            },
        );
        assert_eq!(all.key_count(), 4);
        assert!(!all.truncated && all.next.is_none());
    }

    #[test]
    fn pages_continue_after_keys_and_common_prefixes() {
        let b = bucket(&["a/1", "a/2", "b", "c/1", "c/2", "d"]);
        let req = |after| ListRequest {
            delimiter: Some("/"),
            after,
            max_keys: 2,
            ..ListRequest::default()
        };
        let p1 = list(&b, &req(None));
        assert_eq!(
            (keys(&p1), p1.common_prefixes.clone()),
            (vec!["b"], vec!["a/".to_owned()])
        );
        assert!(p1.truncated);
        assert_eq!(p1.next.as_deref(), Some("b"));
        let p2 = list(&b, &req(p1.next.as_deref()));
        assert_eq!(
            (keys(&p2), p2.common_prefixes.clone()),
            (vec!["d"], vec!["c/".to_owned()])
        );
        assert!(!p2.truncated && p2.next.is_none());
        // After a common prefix, nothing under it comes again.
        let p = list(
            &b,
            &ListRequest {
                delimiter: Some("/"),
                after: Some("a/"),
                max_keys: 1,
                ..ListRequest::default()
            },
        );
        assert_eq!(keys(&p), ["b"]);
        // MaxKeys 0: nothing.
        let none = list(
            &b,
            &ListRequest {
                max_keys: 0,
                ..ListRequest::default()
            },
        );
        assert_eq!(none.key_count(), 0);
    }

    #[test]
    fn start_after_and_prefixes_bound_the_listing() {
        let b = bucket(&["log/1", "log/2", "log/3", "logs", "m"]);
        let p = list(
            &b,
            &ListRequest {
                prefix: "log/",
                after: Some("log/1"),
                max_keys: 1000,
                ..ListRequest::default()
            },
        );
        assert_eq!(keys(&p), ["log/2", "log/3"]);
        let p = list(
            &b,
            &ListRequest {
                prefix: "log",
                after: Some("a"),
                max_keys: 1000,
                ..ListRequest::default()
            },
        );
        assert_eq!(keys(&p), ["log/1", "log/2", "log/3", "logs"]);
        // Keys are in byte order: "é" (0xC3 0xA9) after "z".
        let u = bucket(&["é", "z", "a"]);
        assert_eq!(
            keys(&list(
                &u,
                &ListRequest {
                    max_keys: 10,
                    ..ListRequest::default()
                }
            )),
            ["a", "z", "é"]
        );
    }

    proptest! {
        /// Paging through a listing in pages of any size returns exactly what one unbounded
        /// listing does, in the same order, each entry once.
        #[test]
        fn pages_join_up_to_the_whole_listing(
            names in prop::collection::btree_set("[ab/]{1,6}", 0..40),
            page in 1usize..5,
            with_delimiter in any::<bool>(),
            prefix in "[ab]{0,2}",
        ) {
            let b: BTreeMap<String, ()> = names.into_iter().map(|k| (k, ())).collect();
            let delimiter = with_delimiter.then_some("/");
            let whole = list(&b, &ListRequest { prefix: &prefix, delimiter, max_keys: usize::MAX, ..ListRequest::default() });
            let mut joined_keys = Vec::new();
            let mut joined_prefixes = Vec::new();
            let mut after: Option<String> = None;
            for _ in 0..100 {
                let p = list(&b, &ListRequest { prefix: &prefix, delimiter, after: after.as_deref(), max_keys: page });
                joined_keys.extend(keys(&p));
                joined_prefixes.extend(p.common_prefixes.clone());
                if !p.truncated {
                    break;
                }
                after = p.next.clone();
            }
            prop_assert_eq!(joined_keys, keys(&whole));
            prop_assert_eq!(joined_prefixes, whole.common_prefixes);
        }
    }
}
