//! Queue operations that change or read definitions: create, delete, URLs, listing,
//! attributes, tags, purge and dead-letter sources.

use crate::attributes::{self, Attributes, RedriveAllow};
use crate::catalog::QueueDef;
use crate::error::{QueueError, Result};
use crate::journal::Record;
use crate::service::{REUSE_DELAY_MS, Sqs, check_attrs, new_queue};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A queue name SQS accepts: 1 to 80 characters of `[A-Za-z0-9_-]`, and `.fifo` at the
/// end for (and only for) FIFO queues.
fn check_name(name: &str, fifo: bool) -> Result<()> {
    let base = name.strip_suffix(".fifo");
    let stem = if fifo { base.unwrap_or(name) } else { name };
    let chars_ok = !stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if fifo && (base.is_none() || !chars_ok || name.len() > 80) {
        return Err(QueueError::InvalidParameterValue(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
                .into(),
        ));
    }
    if !fifo && (!chars_ok || name.len() > 80) {
        return Err(QueueError::InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length".into(),
        ));
    }
    Ok(())
}

/// Tag rules: at most 50 per queue, keys 1 to 128 characters, values at most 256.
fn check_tags(tags: &BTreeMap<String, String>) -> Result<()> {
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(QueueError::InvalidParameterValue(format!(
                "Tag key must be between 1 and 128 characters: {k}"
            )));
        }
        if v.chars().count() > 256 {
            return Err(QueueError::InvalidParameterValue(format!(
                "Tag value must be at most 256 characters: {v}"
            )));
        }
    }
    if tags.len() > 50 {
        return Err(QueueError::InvalidParameterValue(
            "Too many tags added for queue. The maximum is 50.".into(),
        ));
    }
    Ok(())
}

/// One page of ListQueues or ListDeadLetterSourceQueues.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub names: Vec<String>,
    pub next_token: Option<String>,
}

impl Sqs {
    /// CreateQueue: a new queue, or the existing one if its attributes are the same.
    pub async fn create_queue(
        &self,
        name: &str,
        given: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<()> {
        let fifo = given.get("FifoQueue").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        check_name(name, fifo)?;
        check_attrs(&given, fifo, true)?;
        check_tags(&tags)?;
        let attributes = Attributes::with_defaults(&given, fifo);
        self.check_redrive_target(name, &attributes, fifo)?;
        let now = self.now();
        let mut meta = self.meta();
        if let Ok(q) = self.queue(name) {
            let g = q.lock();
            let differs = given.iter().find(|(k, v)| {
                let want = Attributes::with_defaults(&BTreeMap::from([((*k).clone(), (*v).clone())]), fifo);
                want.get(k) != g.def.attributes.get(k)
            });
            return match differs {
                None => Ok(()),
                Some((k, _)) => Err(QueueError::QueueNameExists(format!(
                    "A queue already exists with the same name and a different value for attribute {k}"
                ))),
            };
        }
        if meta.deleted.get(name).is_some_and(|&at| at + REUSE_DELAY_MS > now) {
            return Err(QueueError::QueueDeletedRecently);
        }
        let def = QueueDef {
            id: meta.next_queue_id,
            name: name.to_owned(),
            fifo,
            created_ms: now,
            modified_ms: now,
            attributes,
            tags,
            internal: false,
        };
        meta.next_queue_id += 1;
        meta.deleted.remove(name);
        if let Err(e) = self.save_catalog(&meta, Some(&def), None) {
            meta.next_queue_id -= 1;
            return Err(e);
        }
        let q = Arc::new(new_queue(def, &self.inner.config, &self.inner.stored_bytes));
        self.inner
            .queues
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), q);
        Ok(())
    }

    /// A RedrivePolicy must name an existing queue of the same type whose RedriveAllowPolicy
    /// lets the source (`name`) use it.
    fn check_redrive_target(&self, name: &str, attributes: &Attributes, fifo: bool) -> Result<()> {
        let Some(r) = attributes.redrive() else { return Ok(()) };
        let invalid = |reason: &str| {
            QueueError::InvalidParameterValue(format!(
                "Value {{\"deadLetterTargetArn\":\"{}\",\"maxReceiveCount\":\"{}\"}} for parameter RedrivePolicy is invalid. Reason: {reason}",
                r.dead_letter_target_arn, r.max_receive_count
            ))
        };
        let target = self
            .queue_by_arn(&r.dead_letter_target_arn)
            .ok_or_else(|| invalid("Dead letter target does not exist."))?;
        if target.fifo != fifo {
            return Err(invalid("Dead-letter queue must be same type of queue as the source."));
        }
        let allowed = match target.lock().def.attributes.redrive_allow() {
            RedriveAllow::AllowAll => true,
            RedriveAllow::DenyAll => false,
            RedriveAllow::ByQueue(sources) => sources.contains(&self.queue_arn(name)),
        };
        if !allowed {
            return Err(invalid(
                "Dead letter target does not allow this queue to use it as a dead letter queue.",
            ));
        }
        Ok(())
    }

    /// GetQueueUrl: whether the queue exists.
    pub fn get_queue(&self, name: &str) -> Result<()> {
        self.queue(name).map(|_| ())
    }

    /// DeleteQueue: the queue and its messages go at once; its name can be reused after 60
    /// seconds.
    pub async fn delete_queue(&self, name: &str) -> Result<()> {
        let q = self.queue(name)?;
        let now = self.now();
        let mut meta = self.meta();
        meta.deleted.retain(|_, at| *at + REUSE_DELAY_MS > now);
        meta.deleted.insert(name.to_owned(), now);
        self.save_catalog(&meta, None, Some(q.id))?;
        self.inner
            .queues
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        {
            let mut g = q.lock();
            g.deleted = true;
            g.state.clear();
        }
        q.notify.notify_waiters();
        Ok(())
    }

    /// ListQueues: names in order, from the one after `after` (a token's content).
    pub fn list_queues(&self, prefix: Option<&str>, max: Option<usize>, token: Option<&str>) -> Result<Page> {
        let after = self.open_token(token)?;
        let names: Vec<String> = self
            .inner
            .queues
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .filter(|n| prefix.is_none_or(|p| n.starts_with(p)))
            .filter(|n| after.as_deref().is_none_or(|a| n.as_str() > a))
            .cloned()
            .collect();
        Ok(self.page(names, max))
    }

    fn page(&self, mut names: Vec<String>, max: Option<usize>) -> Page {
        let limit = max.unwrap_or(1000);
        let next_token = (max.is_some() && names.len() > limit)
            .then(|| names.get(limit - 1).map(|last| self.key().encode_token(last)))
            .flatten();
        names.truncate(limit);
        Page { names, next_token }
    }

    fn open_token(&self, token: Option<&str>) -> Result<Option<String>> {
        match token {
            None | Some("") => Ok(None),
            Some(t) => self
                .key()
                .decode_token::<String>(t)
                .map(Some)
                .ok_or_else(|| QueueError::InvalidParameterValue("Invalid NextToken value.".into())),
        }
    }

    /// ListDeadLetterSourceQueues: queues whose RedrivePolicy names this one.
    pub fn dead_letter_sources(&self, name: &str, max: Option<usize>, token: Option<&str>) -> Result<Page> {
        let target = self.queue(name)?.arn.clone();
        let after = self.open_token(token)?;
        let names: Vec<String> = self
            .all_queues()
            .into_iter()
            .filter(|q| {
                q.lock()
                    .def
                    .attributes
                    .redrive()
                    .is_some_and(|r| r.dead_letter_target_arn == target)
            })
            .map(|q| q.name.clone())
            .filter(|n| after.as_deref().is_none_or(|a| n.as_str() > a))
            .collect();
        Ok(self.page(names, max))
    }

    /// GetQueueAttributes: the named attributes (`All` for every one), as strings.
    pub fn get_attributes(&self, name: &str, wanted: &[String]) -> Result<BTreeMap<String, String>> {
        let q = self.queue(name)?;
        for w in wanted {
            let known = w == "All"
                || attributes::COMPUTED.contains(&w.as_str())
                || attributes::SETTABLE.iter().any(|(n, _)| n == w);
            if !known {
                return Err(QueueError::InvalidAttributeName(format!("Unknown Attribute {w}.")));
            }
        }
        let now = self.now();
        let g = q.lock();
        let counts = g.state.counts(now);
        let mut all: BTreeMap<String, String> = g.def.attributes.0.clone();
        let computed = [
            ("ApproximateNumberOfMessages", counts.visible.to_string()),
            ("ApproximateNumberOfMessagesNotVisible", counts.in_flight.to_string()),
            ("ApproximateNumberOfMessagesDelayed", counts.delayed.to_string()),
            ("CreatedTimestamp", (g.def.created_ms / 1000).to_string()),
            ("LastModifiedTimestamp", (g.def.modified_ms / 1000).to_string()),
            ("QueueArn", q.arn.clone()),
        ];
        for (k, v) in computed {
            all.insert(k.to_owned(), v);
        }
        let every = wanted.iter().any(|w| w == "All");
        all.retain(|k, _| every || wanted.contains(k));
        Ok(all)
    }

    /// SetQueueAttributes: the given attributes replace the current ones (an empty
    /// RedrivePolicy, RedriveAllowPolicy or Policy removes it).
    pub async fn set_attributes(&self, name: &str, given: BTreeMap<String, String>) -> Result<()> {
        let q = self.queue(name)?;
        check_attrs(&given, q.fifo, false)?;
        let meta = self.meta();
        let mut def = q.lock().def.clone();
        let mut merged = def.attributes.0.clone();
        merged.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
        let attributes = Attributes::with_defaults(&merged, q.fifo);
        self.check_redrive_target(name, &attributes, q.fifo)?;
        def.attributes = attributes;
        def.modified_ms = self.now();
        let before = std::mem::replace(&mut q.lock().def, def);
        if let Err(e) = self.save_catalog(&meta, None, None) {
            q.lock().def = before;
            return Err(e);
        }
        q.notify.notify_waiters();
        Ok(())
    }

    /// AddPermission: a statement labelled `label` in the queue's Policy, allowing the
    /// accounts the actions (as SQS writes it: `SQS:<Action>`).
    pub async fn add_permission(&self, name: &str, label: &str, accounts: &[String], actions: &[String]) -> Result<()> {
        let q = self.queue(name)?;
        let mut policy = policy_of(&q.lock().def.attributes, &q.arn);
        let statements = policy["Statement"].as_array_mut().expect("policy_of makes a list");
        if statements.iter().any(|s| s["Sid"] == label) {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value {label} for parameter Label is invalid. Reason: Already exists."
            )));
        }
        let principals: Vec<String> = accounts.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect();
        let actions: Vec<String> = actions.iter().map(|a| format!("SQS:{a}")).collect();
        let one_or_many = |v: Vec<String>| match v.len() {
            1 => serde_json::Value::String(v.into_iter().next().unwrap_or_default()),
            _ => serde_json::Value::from(v),
        };
        statements.push(serde_json::json!({
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": one_or_many(principals)},
            "Action": one_or_many(actions),
            "Resource": q.arn,
        }));
        self.set_policy(name, Some(policy)).await
    }

    /// RemovePermission: drops the statement labelled `label` (the Policy goes with its last
    /// statement).
    pub async fn remove_permission(&self, name: &str, label: &str) -> Result<()> {
        let q = self.queue(name)?;
        let mut policy = policy_of(&q.lock().def.attributes, &q.arn);
        let statements = policy["Statement"].as_array_mut().expect("policy_of makes a list");
        let before = statements.len();
        statements.retain(|s| s["Sid"] != label);
        if statements.len() == before {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value {label} for parameter Label is invalid. Reason: can't find label."
            )));
        }
        let empty = statements.is_empty();
        self.set_policy(name, (!empty).then_some(policy)).await
    }

    async fn set_policy(&self, name: &str, policy: Option<serde_json::Value>) -> Result<()> {
        let text = policy.map(|p| p.to_string()).unwrap_or_default();
        self.set_attributes(name, BTreeMap::from([("Policy".to_owned(), text)]))
            .await
    }

    /// Every message the queue holds, visible or not, in send order, without receiving
    /// any (for checks and tools).
    pub fn stored(&self, name: &str) -> Result<Vec<crate::Message>> {
        let q = self.queue(name)?;
        let g = q.lock();
        let mut all: Vec<crate::Message> = g.state.messages().cloned().collect();
        all.sort_by_key(|m| m.no);
        Ok(all)
    }

    pub fn list_tags(&self, name: &str) -> Result<BTreeMap<String, String>> {
        Ok(self.queue(name)?.lock().def.tags.clone())
    }

    /// TagQueue (`add`) and UntagQueue (`remove`).
    pub async fn change_tags(&self, name: &str, add: BTreeMap<String, String>, remove: Vec<String>) -> Result<()> {
        let q = self.queue(name)?;
        let meta = self.meta();
        let mut tags = q.lock().def.tags.clone();
        tags.extend(add);
        for k in &remove {
            tags.remove(k);
        }
        check_tags(&tags)?;
        let before = std::mem::replace(&mut q.lock().def.tags, tags);
        if let Err(e) = self.save_catalog(&meta, None, None) {
            q.lock().def.tags = before;
            return Err(e);
        }
        Ok(())
    }

    /// PurgeQueue: every message sent before the call is gone; once per 60 seconds.
    pub async fn purge(&self, name: &str) -> Result<()> {
        let q = self.queue(name)?;
        let now = self.now();
        {
            let mut g = q.lock();
            if g.last_purge_ms.is_some_and(|at| at + REUSE_DELAY_MS > now) {
                return Err(QueueError::PurgeQueueInProgress(format!(
                    "Only one PurgeQueue operation on {name} is allowed every 60 seconds."
                )));
            }
            let below = self.journal().push_keyed(now, |key| Record::Purge {
                queue: q.id,
                below: key,
            });
            g.state.purge(below);
            g.purged_below = below;
            // A purge also forgets FIFO deduplication ids (recorded against AWS).
            g.dedup.clear();
            g.last_purge_ms = Some(now);
        }
        self.commit().await
    }
}

/// The queue's Policy as JSON, or a fresh one (version 2008-10-17, as SQS writes them).
fn policy_of(attributes: &Attributes, arn: &str) -> serde_json::Value {
    let parsed = attributes
        .get("Policy")
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .filter(|p| p["Statement"].is_array());
    parsed.unwrap_or_else(|| {
        serde_json::json!({
            "Version": "2008-10-17",
            "Id": format!("{arn}/SQSDefaultPolicy"),
            "Statement": [],
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_sqs_rules() {
        assert!(check_name("orders-1_a", false).is_ok());
        assert!(check_name("orders.fifo", true).is_ok());
        assert!(check_name("orders.fifo", false).is_err());
        assert!(check_name("orders", true).is_err());
        assert!(check_name(&"a".repeat(81), false).is_err());
        assert!(check_name(&"a".repeat(80), false).is_ok());
        assert!(check_name("", false).is_err());
        assert!(check_name("a b", false).is_err());
    }
}
