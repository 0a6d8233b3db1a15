//! SNS topics of one tenant: topics and subscriptions (a catalog file, `<tenant>/sns/catalog.json`,
//! replaced whole on every change), and publishing: each confirmed subscription whose filter
//! policy matches gets the message, raw or in SNS's envelope. Deliveries to SQS queues of the
//! tenant are sends into those queues, made durable before Publish is answered (at least once:
//! a crash after the sends and before the answer repeats them on the client's retry). HTTP and
//! HTTPS endpoints get a POST with SNS's headers, retried by the subscription's delivery policy,
//! from memory (a restart forgets pending retries). Lambda subscriptions are stored and
//! confirmed; they receive nothing until functions exist.

use crate::error::QueueError;
use crate::filter::{self, Scope};
use crate::message::{AttributeValue, MessageAttribute, new_message_id};
use crate::send::SendEntry;
use crate::service::Sqs;
use crate::signing::{self, Signed, SigningKey};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rheo_log::Disk;
use rheo_types::clock::Clock;
use rheo_types::mac::MacKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnsError {
    /// NotFound (404).
    #[error("{0}")]
    NotFound(String),
    /// InvalidParameter (400).
    #[error("{0}")]
    InvalidParameter(String),
    /// PublishBatch's own errors (400 each).
    #[error("{0}")]
    EmptyBatchRequest(String),
    #[error("{0}")]
    TooManyEntriesInBatchRequest(String),
    #[error("{0}")]
    BatchEntryIdsNotDistinct(String),
    #[error("{0}")]
    InvalidBatchEntryId(String),
    #[error("{0}")]
    BatchRequestTooLong(String),
    /// Throttled (429): a queue it delivers to is at Rheo's stored-bytes limit.
    #[error("{0}")]
    Throttled(String),
    #[error("internal failure: {0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, SnsError>;

impl From<QueueError> for SnsError {
    fn from(e: QueueError) -> SnsError {
        SnsError::Internal(e.to_string())
    }
}

#[derive(Debug, Clone)]
pub struct SnsConfig {
    pub data_dir: PathBuf,
    pub account: String,
    pub region: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Topic {
    pub name: String,
    pub fifo: bool,
    pub attributes: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Subscription {
    /// The last part of its ARN.
    pub id: String,
    pub topic: String,
    pub protocol: String,
    pub endpoint: String,
    pub attributes: BTreeMap<String, String>,
    pub confirmed: bool,
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Catalog {
    version: u32,
    token_key: MacKey,
    topics: BTreeMap<String, Topic>,
    subscriptions: Vec<Subscription>,
}

struct Inner {
    config: SnsConfig,
    clock: Arc<dyn Clock>,
    disk: Arc<dyn Disk>,
    sqs: Sqs,
    catalog: Mutex<Catalog>,
    http: Client<HttpConnector, Full<bytes::Bytes>>,
    /// The last sequence number of each FIFO topic: a hybrid clock (the time in ms shifted
    /// left 20 bits, or one more than the last), so numbers increase across restarts too.
    sequences: Mutex<BTreeMap<String, u128>>,
    /// The key messages are signed with, read or made on first use.
    signing: Mutex<Option<Arc<SigningKey>>>,
    /// Where `lambda` subscriptions are delivered (set by the server).
    functions: Mutex<Option<Arc<dyn FunctionSink>>>,
}

/// Where SNS delivers to functions: an asynchronous invocation of the function an ARN names,
/// with SNS's Lambda event.
pub trait FunctionSink: Send + Sync + 'static {
    fn invoke(
        &self,
        function_arn: String,
        event: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<(), String>> + Send>>;
}

/// One tenant's topics. Cheap to clone.
#[derive(Clone)]
pub struct Sns {
    inner: Arc<Inner>,
}

/// A message to publish.
#[derive(Debug, Clone, Default)]
pub struct Publish {
    pub message: String,
    pub subject: Option<String>,
    /// `json`: the message is a JSON object of bodies per protocol, with `default`.
    pub structure: Option<String>,
    pub attributes: Vec<MessageAttribute>,
    pub group: Option<String>,
    pub dedup_id: Option<String>,
}

/// What a publish returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub message_id: String,
    pub sequence_number: Option<String>,
}

const FILE: &str = "catalog.json";
/// The most a message may hold (body and attributes): SNS's 256 KiB.
pub const MAX_MESSAGE_BYTES: usize = 262_144;

impl Sns {
    pub fn open(config: SnsConfig, clock: Arc<dyn Clock>, disk: Arc<dyn Disk>, sqs: Sqs) -> std::io::Result<Sns> {
        disk.create_dir_all(&config.data_dir)?;
        let path = config.data_dir.join(FILE);
        let catalog = match rheo_log::disk::read_all(&*disk, &path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Catalog {
                version: 1,
                token_key: MacKey::generate()?,
                topics: BTreeMap::new(),
                subscriptions: Vec::new(),
            },
            Err(e) => return Err(e),
        };
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let http = Client::builder(TokioExecutor::new()).build(connector);
        let sns = Sns {
            inner: Arc::new(Inner {
                config,
                clock,
                disk,
                sqs,
                catalog: Mutex::new(catalog),
                http,
                sequences: Mutex::default(),
                signing: Mutex::default(),
                functions: Mutex::default(),
            }),
        };
        // The signing key is made (about a second, once per tenant) before the first publish
        // needs it; a publish that comes sooner waits for it.
        let weak = Arc::downgrade(&sns.inner);
        let _ = std::thread::Builder::new()
            .name("sns-signing-key".into())
            .spawn(move || {
                if let Some(inner) = weak.upgrade() {
                    let _ = Sns { inner }.signing_key();
                }
            });
        Ok(sns)
    }

    /// Sets where `lambda` subscriptions are delivered.
    pub fn set_function_sink(&self, sink: Arc<dyn FunctionSink>) {
        *self.inner.functions.lock().unwrap_or_else(|p| p.into_inner()) = Some(sink);
    }

    /// The tenant's signing key and certificate, read or made (once) on first use.
    pub fn signing_key(&self) -> Result<Arc<SigningKey>> {
        let mut slot = self.inner.signing.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = slot.as_ref() {
            return Ok(k.clone());
        }
        let (disk, dir) = (self.inner.disk.clone(), self.inner.config.data_dir.clone());
        let key = crate::service::off_worker(|| SigningKey::load_or_create(&*disk, &dir))
            .map_err(|e| SnsError::Internal(format!("the SNS signing key: {e}")))?;
        let key = Arc::new(key);
        *slot = Some(key.clone());
        Ok(key)
    }

    /// The certificate named `name` (`SimpleNotificationService-….pem`) if it is this
    /// tenant's. Never makes a key (unsigned requests ask this).
    pub fn certificate(&self, name: &str) -> Option<String> {
        // Never waits for a key being made (an unsigned request must not hold a worker).
        let mut slot = match self.inner.signing.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        if slot.is_none() {
            let loaded = SigningKey::load(&*self.inner.disk, &self.inner.config.data_dir);
            *slot = loaded.ok().flatten().map(Arc::new);
        }
        let key = slot.as_ref()?;
        (key.cert_name() == name).then(|| key.cert_pem().to_owned())
    }

    fn catalog(&self) -> MutexGuard<'_, Catalog> {
        self.inner.catalog.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Saves the catalog as changed by `change`, which may refuse; the change is kept only if
    /// the save succeeds.
    fn change<T>(&self, change: impl FnOnce(&mut Catalog) -> Result<T>) -> Result<T> {
        let mut g = self.catalog();
        let mut next = g.clone();
        let out = change(&mut next)?;
        let bytes = serde_json::to_vec(&next).map_err(|e| SnsError::Internal(e.to_string()))?;
        let (disk, path) = (self.inner.disk.clone(), self.inner.config.data_dir.join(FILE));
        crate::service::off_worker(|| rheo_log::disk::replace_file(&*disk, &path, &bytes))
            .map_err(|e| SnsError::Internal(e.to_string()))?;
        *g = next;
        Ok(out)
    }

    pub fn topic_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:sns:{}:{}:{name}",
            self.inner.config.region, self.inner.config.account
        )
    }

    /// The topic an ARN of this tenant names.
    fn topic_name(&self, arn: &str) -> Result<String> {
        let prefix = format!(
            "arn:aws:sns:{}:{}:",
            self.inner.config.region, self.inner.config.account
        );
        arn.strip_prefix(&prefix)
            .filter(|n| !n.contains(':'))
            .map(str::to_owned)
            .ok_or_else(|| SnsError::NotFound("Topic does not exist".into()))
    }

    pub fn create_topic(
        &self,
        name: &str,
        attributes: BTreeMap<String, String>,
        tags: Vec<(String, String)>,
    ) -> Result<String> {
        let fifo = attributes
            .get("FifoTopic")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let stem = if fifo { name.strip_suffix(".fifo") } else { Some(name) };
        let valid = stem.is_some_and(|s| {
            !s.is_empty() && name.len() <= 256 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
        if !valid {
            return Err(SnsError::InvalidParameter(if fifo {
                "Invalid parameter: Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.".into()
            } else {
                "Invalid parameter: Topic Name".into()
            }));
        }
        for (k, v) in &attributes {
            check_topic_attribute(k, v, fifo)?;
        }
        let arn = self.topic_arn(name);
        let now = self.inner.clock.now_ms();
        self.change(|c| {
            if let Some(t) = c.topics.get(name) {
                let differs = attributes.iter().any(|(k, v)| t.attributes.get(k) != Some(v));
                if differs {
                    return Err(SnsError::InvalidParameter(
                        "Invalid parameter: Attributes Reason: Topic already exists with different attributes".into(),
                    ));
                }
                return Ok(());
            }
            c.topics.insert(
                name.to_owned(),
                Topic {
                    name: name.to_owned(),
                    fifo,
                    attributes,
                    tags,
                    created_ms: now,
                },
            );
            Ok(())
        })?;
        Ok(arn)
    }

    /// DeleteTopic: the topic and its subscriptions (a topic that does not exist: no error).
    pub fn delete_topic(&self, arn: &str) -> Result<()> {
        let name = self.topic_name(arn)?;
        self.change(|c| {
            c.topics.remove(&name);
            c.subscriptions.retain(|s| s.topic != name);
            Ok(())
        })
    }

    /// ListTopics: ARNs in name order, 100 a page.
    pub fn list_topics(&self, token: Option<&str>) -> Result<(Vec<String>, Option<String>)> {
        let names: Vec<String> = self.catalog().topics.keys().cloned().collect();
        let (page, next) = self.page(names, token, 100)?;
        Ok((page.iter().map(|n| self.topic_arn(n)).collect(), next))
    }

    fn page(&self, items: Vec<String>, token: Option<&str>, size: usize) -> Result<(Vec<String>, Option<String>)> {
        let key = self.catalog().token_key.clone();
        let after: Option<String> = match token {
            None | Some("") => None,
            Some(t) => Some(
                key.decode_token(t)
                    .ok_or_else(|| SnsError::InvalidParameter("Invalid parameter: NextToken".into()))?,
            ),
        };
        let rest: Vec<String> = items
            .into_iter()
            .filter(|i| after.as_deref().is_none_or(|a| i.as_str() > a))
            .collect();
        let next = (rest.len() > size).then(|| key.encode_token(&rest[size - 1]));
        Ok((rest.into_iter().take(size).collect(), next))
    }

    pub fn get_topic_attributes(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let name = self.topic_name(arn)?;
        let c = self.catalog();
        let t = c
            .topics
            .get(&name)
            .ok_or_else(|| SnsError::NotFound("Topic does not exist".into()))?;
        let subs: Vec<&Subscription> = c.subscriptions.iter().filter(|s| s.topic == name).collect();
        let account = &self.inner.config.account;
        let mut out = BTreeMap::from([
            ("TopicArn".to_owned(), arn.to_owned()),
            ("Owner".to_owned(), account.clone()),
            ("DisplayName".to_owned(), String::new()),
            (
                "SubscriptionsConfirmed".to_owned(),
                subs.iter().filter(|s| s.confirmed).count().to_string(),
            ),
            (
                "SubscriptionsPending".to_owned(),
                subs.iter().filter(|s| !s.confirmed).count().to_string(),
            ),
            ("SubscriptionsDeleted".to_owned(), "0".to_owned()),
            ("Policy".to_owned(), default_policy(arn, account)),
            ("EffectiveDeliveryPolicy".to_owned(), DEFAULT_DELIVERY_POLICY.to_owned()),
        ]);
        if t.fifo {
            out.insert("FifoTopic".into(), "true".into());
            out.insert("ContentBasedDeduplication".into(), "false".into());
        }
        out.extend(t.attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(out)
    }

    pub fn set_topic_attribute(&self, arn: &str, name: &str, value: &str) -> Result<()> {
        let topic = self.topic_name(arn)?;
        self.change(|c| {
            let t = c
                .topics
                .get_mut(&topic)
                .ok_or_else(|| SnsError::NotFound("Topic does not exist".into()))?;
            check_topic_attribute(name, value, t.fifo)?;
            if name == "FifoTopic" {
                return Err(SnsError::InvalidParameter("Invalid parameter: AttributeName".into()));
            }
            t.attributes.insert(name.to_owned(), value.to_owned());
            Ok(())
        })
    }

    /// Subscribe: SQS and Lambda subscriptions are confirmed at once; HTTP and HTTPS ones get a
    /// SubscriptionConfirmation and stay pending until confirmed. Returns the subscription's
    /// ARN, or `pending confirmation` for a pending one unless `return_arn`.
    pub async fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
        attributes: BTreeMap<String, String>,
        return_arn: bool,
        base_url: &str,
    ) -> Result<String> {
        let topic = self.topic_name(topic_arn)?;
        let valid_endpoint = match protocol {
            "sqs" => endpoint.starts_with("arn:aws:sqs:") && endpoint.split(':').count() == 6,
            "lambda" => endpoint.starts_with("arn:aws:lambda:"),
            "http" => endpoint.starts_with("http://"),
            "https" => endpoint.starts_with("https://"),
            _ => {
                return Err(SnsError::InvalidParameter(
                    "Invalid parameter: Amazon SNS does not support this protocol".into(),
                ));
            }
        };
        if !valid_endpoint {
            return Err(SnsError::InvalidParameter(format!(
                "Invalid parameter: {} endpoint ARN",
                protocol.to_uppercase()
            )));
        }
        for (k, v) in &attributes {
            check_subscription_attribute(k, v)?;
        }
        let confirmed = matches!(protocol, "sqs" | "lambda");
        let account = self.inner.config.account.clone();
        let region = self.inner.config.region.clone();
        let token = format!("{account}.{region}.{}", new_message_id().replace('-', ""));
        let sub = self.change(|c| {
            if !c.topics.contains_key(&topic) {
                return Err(SnsError::NotFound("Topic does not exist".into()));
            }
            if let Some(s) = c
                .subscriptions
                .iter()
                .find(|s| s.topic == topic && s.protocol == protocol && s.endpoint == endpoint)
            {
                return Ok(s.clone());
            }
            let s = Subscription {
                id: new_message_id(),
                topic: topic.clone(),
                protocol: protocol.to_owned(),
                endpoint: endpoint.to_owned(),
                attributes,
                confirmed,
                token,
            };
            c.subscriptions.push(s.clone());
            Ok(s)
        })?;
        let arn = format!("{topic_arn}:{}", sub.id);
        if !sub.confirmed {
            self.send_confirmation(&sub, topic_arn, base_url);
        }
        Ok(if sub.confirmed || return_arn {
            arn
        } else {
            "pending confirmation".into()
        })
    }

    fn send_confirmation(&self, sub: &Subscription, topic_arn: &str, base_url: &str) {
        let subscribe_url = format!(
            "{base_url}/?Action=ConfirmSubscription&TopicArn={}&Token={}",
            url_encode(topic_arn),
            sub.token
        );
        let env = Envelope {
            kind: "SubscriptionConfirmation",
            message_id: new_message_id(),
            token: Some(sub.token.clone()),
            topic_arn: topic_arn.to_owned(),
            subject: None,
            message: format!(
                "You have chosen to subscribe to the topic {topic_arn}.\nTo confirm the subscription, visit the SubscribeURL included in this message."
            ),
            subscribe_url: Some(subscribe_url),
            timestamp: iso8601(self.inner.clock.now_ms()),
            signature_version: signature_version(&self.catalog(), &sub.topic),
            signature: String::new(),
            signing_cert_url: String::new(),
            unsubscribe_url: None,
            message_attributes: None,
        };
        let env = match self.signing_key() {
            Ok(key) => env.signed(&key, base_url),
            Err(e) => {
                tracing::error!(error = %e, "a subscription confirmation could not be signed; not sent");
                return;
            }
        };
        let body = serde_json::to_string(&env).unwrap_or_default();
        self.post(sub, topic_arn, "SubscriptionConfirmation", env.message_id, body, None);
    }

    /// ConfirmSubscription by the token the endpoint was sent.
    pub fn confirm(&self, topic_arn: &str, token: &str) -> Result<String> {
        let topic = self.topic_name(topic_arn)?;
        let id = self.change(|c| {
            let s = c
                .subscriptions
                .iter_mut()
                .find(|s| s.topic == topic && s.token == token)
                .ok_or_else(|| SnsError::InvalidParameter("Invalid parameter: Token".into()))?;
            s.confirmed = true;
            Ok(s.id.clone())
        })?;
        Ok(format!("{topic_arn}:{id}"))
    }

    fn subscription_id(&self, arn: &str) -> Result<(String, String)> {
        let (topic_arn, id) = arn
            .rsplit_once(':')
            .ok_or_else(|| SnsError::InvalidParameter("Invalid parameter: SubscriptionArn".into()))?;
        let topic = self
            .topic_name(topic_arn)
            .map_err(|_| SnsError::InvalidParameter("Invalid parameter: SubscriptionArn".into()))?;
        Ok((topic, id.to_owned()))
    }

    pub fn unsubscribe(&self, arn: &str) -> Result<()> {
        let (topic, id) = self.subscription_id(arn)?;
        self.change(|c| {
            c.subscriptions.retain(|s| !(s.topic == topic && s.id == id));
            Ok(())
        })
    }

    /// ListSubscriptions (all, or one topic's): their ARNs (`PendingConfirmation` while
    /// pending), owners, protocols, endpoints and topics, 100 a page.
    pub fn list_subscriptions(
        &self,
        topic_arn: Option<&str>,
        token: Option<&str>,
    ) -> Result<(Vec<[String; 5]>, Option<String>)> {
        let topic = topic_arn.map(|a| self.topic_name(a)).transpose()?;
        let subs: Vec<Subscription> = {
            let c = self.catalog();
            if let Some(t) = &topic
                && !c.topics.contains_key(t)
            {
                return Err(SnsError::NotFound("Topic does not exist".into()));
            }
            c.subscriptions
                .iter()
                .filter(|s| topic.as_ref().is_none_or(|t| &s.topic == t))
                .cloned()
                .collect()
        };
        let keys: Vec<String> = subs.iter().map(|s| format!("{}:{}", s.topic, s.id)).collect();
        let (page, next) = self.page(keys, token, 100)?;
        let rows = subs
            .into_iter()
            .filter(|s| page.contains(&format!("{}:{}", s.topic, s.id)))
            .map(|s| {
                let topic_arn = self.topic_arn(&s.topic);
                let arn = if s.confirmed {
                    format!("{topic_arn}:{}", s.id)
                } else {
                    "PendingConfirmation".into()
                };
                [
                    arn,
                    self.inner.config.account.clone(),
                    s.protocol,
                    s.endpoint,
                    topic_arn,
                ]
            })
            .collect();
        Ok((rows, next))
    }

    pub fn get_subscription_attributes(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let (topic, id) = self.subscription_id(arn)?;
        let c = self.catalog();
        let s = c
            .subscriptions
            .iter()
            .find(|s| s.topic == topic && s.id == id)
            .ok_or_else(|| SnsError::NotFound("Subscription does not exist".into()))?;
        let mut out = BTreeMap::from([
            ("SubscriptionArn".to_owned(), arn.to_owned()),
            ("TopicArn".to_owned(), self.topic_arn(&topic)),
            ("Owner".to_owned(), self.inner.config.account.clone()),
            ("Protocol".to_owned(), s.protocol.clone()),
            ("Endpoint".to_owned(), s.endpoint.clone()),
            ("PendingConfirmation".to_owned(), (!s.confirmed).to_string()),
            ("ConfirmationWasAuthenticated".to_owned(), s.confirmed.to_string()),
            ("RawMessageDelivery".to_owned(), "false".to_owned()),
            (
                "SubscriptionPrincipal".to_owned(),
                format!("arn:aws:iam::{}:root", self.inner.config.account),
            ),
        ]);
        if s.attributes.contains_key("FilterPolicy") {
            out.insert("FilterPolicyScope".into(), "MessageAttributes".into());
        }
        out.extend(s.attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(out)
    }

    pub fn set_subscription_attribute(&self, arn: &str, name: &str, value: &str) -> Result<()> {
        check_subscription_attribute(name, value)?;
        let (topic, id) = self.subscription_id(arn)?;
        self.change(|c| {
            let s = c
                .subscriptions
                .iter_mut()
                .find(|s| s.topic == topic && s.id == id)
                .ok_or_else(|| SnsError::NotFound("Subscription does not exist".into()))?;
            if value.is_empty() && name == "FilterPolicy" {
                s.attributes.remove(name);
            } else {
                s.attributes.insert(name.to_owned(), value.to_owned());
            }
            Ok(())
        })
    }

    pub fn tags(&self, arn: &str) -> Result<Vec<(String, String)>> {
        let name = self.topic_name(arn)?;
        let c = self.catalog();
        let t = c
            .topics
            .get(&name)
            .ok_or_else(|| SnsError::NotFound("Resource does not exist".into()))?;
        Ok(t.tags.clone())
    }

    pub fn change_tags(&self, arn: &str, add: Vec<(String, String)>, remove: Vec<String>) -> Result<()> {
        let name = self.topic_name(arn)?;
        self.change(|c| {
            let t = c
                .topics
                .get_mut(&name)
                .ok_or_else(|| SnsError::NotFound("Resource does not exist".into()))?;
            for (k, v) in add {
                match t.tags.iter_mut().find(|(tk, _)| *tk == k) {
                    Some(slot) => slot.1 = v,
                    None => t.tags.push((k, v)),
                }
            }
            t.tags.retain(|(k, _)| !remove.contains(k));
            if t.tags.len() > 50 {
                return Err(SnsError::InvalidParameter(
                    "Could not complete request: tag quota of per resource exceeded".into(),
                ));
            }
            Ok(())
        })
    }

    /// Publish: checks the message, then delivers it to every confirmed subscription whose
    /// filter policy matches; returns once every delivery to a queue is durable.
    pub async fn publish(&self, topic_arn: &str, p: Publish, base_url: &str) -> Result<Published> {
        let name = self.topic_name(topic_arn)?;
        let (topic, subs) = {
            let c = self.catalog();
            let t = c
                .topics
                .get(&name)
                .cloned()
                .ok_or_else(|| SnsError::NotFound("Topic does not exist".into()))?;
            let subs: Vec<Subscription> = c
                .subscriptions
                .iter()
                .filter(|s| s.topic == name && s.confirmed)
                .cloned()
                .collect();
            (t, subs)
        };
        check_publish(&p, topic.fifo)?;
        let bodies = bodies(&p)?;
        let message_id = new_message_id();
        let sequence_number = topic.fifo.then(|| self.next_sequence(&name));
        let timestamp = iso8601(self.inner.clock.now_ms());
        let version = topic
            .attributes
            .get("SignatureVersion")
            .cloned()
            .unwrap_or_else(|| "1".to_owned());
        let key = self.signing_key()?;
        // A full account (Rheo's stored-bytes limit) refuses the publish before any delivery,
        // so that the publisher's retry repeats none.
        if subs.iter().any(|s| s.protocol == "sqs" && passes_filter(s, &p))
            && let Err(QueueError::OverLimit(m)) = self.inner.sqs.check_stored_bytes()
        {
            return Err(SnsError::Throttled(m));
        }
        for sub in subs {
            if !passes_filter(&sub, &p) {
                continue;
            }
            let body = bodies
                .get(&sub.protocol)
                .or(bodies.get("default"))
                .cloned()
                .unwrap_or_default();
            let raw = sub.attributes.get("RawMessageDelivery").is_some_and(|v| v == "true");
            let sub_arn = format!("{topic_arn}:{}", sub.id);
            let env = Envelope {
                kind: "Notification",
                message_id: message_id.clone(),
                token: None,
                topic_arn: topic_arn.to_owned(),
                subject: p.subject.clone(),
                message: body.clone(),
                subscribe_url: None,
                timestamp: timestamp.clone(),
                signature_version: version.clone(),
                signature: String::new(),
                signing_cert_url: String::new(),
                unsubscribe_url: Some(format!(
                    "{base_url}/?Action=Unsubscribe&SubscriptionArn={}",
                    url_encode(&sub_arn)
                )),
                message_attributes: envelope_attributes(&p.attributes),
            }
            .signed(&key, base_url);
            match sub.protocol.as_str() {
                "sqs" => {
                    let entry = SendEntry {
                        body: if raw {
                            body
                        } else {
                            serde_json::to_string(&env).unwrap_or_default()
                        },
                        attributes: if raw { p.attributes.clone() } else { Vec::new() },
                        group: p.group.clone(),
                        dedup_id: p.dedup_id.clone().or_else(|| topic.fifo.then(|| message_id.clone())),
                        ..SendEntry::default()
                    };
                    self.deliver_to_queue(&sub, entry).await?;
                }
                "http" | "https" => {
                    let body = if raw {
                        body
                    } else {
                        serde_json::to_string(&env).unwrap_or_default()
                    };
                    self.post(&sub, topic_arn, "Notification", message_id.clone(), body, Some(sub_arn));
                }
                "lambda" => {
                    let sink = self.inner.functions.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    let Some(sink) = sink else { continue };
                    let event = lambda_event(&env, &sub_arn);
                    if let Err(e) = sink.invoke(sub.endpoint.clone(), event).await {
                        tracing::warn!(error = %e, endpoint = %sub.endpoint, "an SNS delivery to a function failed");
                    }
                }
                _ => {}
            }
        }
        Ok(Published {
            message_id,
            sequence_number,
        })
    }

    fn next_sequence(&self, topic: &str) -> String {
        let now = u128::try_from(self.inner.clock.now_ms()).unwrap_or_default() << 20;
        let mut seqs = self.inner.sequences.lock().unwrap_or_else(|p| p.into_inner());
        let last = seqs.entry(topic.to_owned()).or_default();
        *last = (*last + 1).max(now);
        format!("{:020}", *last)
    }

    /// A delivery to a queue of this tenant; a queue that is gone sends the message to the
    /// subscription's dead-letter queue if it has one, else drops it (as SNS does after its
    /// retries).
    async fn deliver_to_queue(&self, sub: &Subscription, entry: SendEntry) -> Result<()> {
        let name = queue_name(&sub.endpoint, &self.inner.config);
        let sender = self.inner.config.account.clone();
        let delivered = match &name {
            Some(q) => self.inner.sqs.send(q, vec![entry.clone()], &sender, false).await,
            None => Err(QueueError::QueueDoesNotExist),
        };
        let refused = match &delivered {
            Ok(r) => r.iter().find_map(|r| r.as_ref().err()),
            Err(e) => Some(e),
        };
        match refused {
            None => Ok(()),
            Some(QueueError::Internal(m)) => Err(SnsError::Internal(m.clone())),
            // The queue is full for now: the publisher retries (nothing was acknowledged).
            Some(QueueError::OverLimit(m)) => Err(SnsError::Throttled(m.clone())),
            _ => {
                let dlq = sub
                    .attributes
                    .get("RedrivePolicy")
                    .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
                    .and_then(|p| p["deadLetterTargetArn"].as_str().map(str::to_owned))
                    .and_then(|arn| queue_name(&arn, &self.inner.config));
                match dlq {
                    Some(q) => {
                        self.inner.sqs.send(&q, vec![entry], &sender, false).await?;
                        Ok(())
                    }
                    None => {
                        tracing::warn!(endpoint = %sub.endpoint, "an SNS delivery to a queue failed and was dropped");
                        Ok(())
                    }
                }
            }
        }
    }

    /// POSTs to an HTTP(S) subscription in the background, retrying by its delivery policy.
    fn post(
        &self,
        sub: &Subscription,
        topic_arn: &str,
        kind: &'static str,
        message_id: String,
        body: String,
        sub_arn: Option<String>,
    ) {
        let (retries, delay) = retry_policy(sub);
        let http = self.inner.http.clone();
        let endpoint = sub.endpoint.clone();
        let topic_arn = topic_arn.to_owned();
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        handle.spawn(async move {
            for attempt in 0..=retries {
                let mut req = http::Request::post(&endpoint)
                    .header("content-type", "text/plain; charset=UTF-8")
                    .header("x-amz-sns-message-type", kind)
                    .header("x-amz-sns-message-id", &message_id)
                    .header("x-amz-sns-topic-arn", &topic_arn)
                    .header("user-agent", "Amazon Simple Notification Service Agent");
                if let Some(a) = &sub_arn {
                    req = req.header("x-amz-sns-subscription-arn", a);
                }
                let Ok(req) = req.body(Full::new(bytes::Bytes::from(body.clone()))) else {
                    return;
                };
                let ok = matches!(
                    tokio::time::timeout(Duration::from_secs(15), http.request(req)).await,
                    Ok(Ok(resp)) if resp.status().is_success()
                );
                if ok {
                    return;
                }
                if attempt < retries {
                    tokio::time::sleep(delay).await;
                }
            }
            tracing::warn!(%endpoint, "an SNS delivery to an HTTP endpoint failed after its retries");
        });
    }

    /// PublishBatch entries share the checks and deliveries of Publish, one result each.
    pub async fn publish_batch(
        &self,
        topic_arn: &str,
        entries: Vec<Publish>,
        base_url: &str,
    ) -> Result<Vec<Result<Published>>> {
        self.topic_name(topic_arn)?;
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            out.push(self.publish(topic_arn, e, base_url).await);
        }
        Ok(out)
    }
}

/// The queue an SQS ARN of this tenant names.
fn queue_name(arn: &str, config: &SnsConfig) -> Option<String> {
    let prefix = format!("arn:aws:sqs:{}:{}:", config.region, config.account);
    arn.strip_prefix(&prefix).map(str::to_owned)
}

fn passes_filter(sub: &Subscription, p: &Publish) -> bool {
    let Some(policy) = sub.attributes.get("FilterPolicy") else {
        return true;
    };
    let Ok(policy) = serde_json::from_str::<serde_json::Value>(policy) else {
        return false;
    };
    let scope = match sub.attributes.get("FilterPolicyScope").map(String::as_str) {
        Some("MessageBody") => Scope::Body,
        _ => Scope::Attributes,
    };
    filter::matches(&policy, scope, &p.attributes, &p.message)
}

/// The bodies per protocol: one `default` body, or a MessageStructure=json message's.
fn bodies(p: &Publish) -> Result<BTreeMap<String, String>> {
    if p.structure.as_deref() != Some("json") {
        return Ok(BTreeMap::from([("default".to_owned(), p.message.clone())]));
    }
    let v: serde_json::Value = serde_json::from_str(&p.message).map_err(|_| {
        SnsError::InvalidParameter("Invalid parameter: Message Structure - JSON message body failed to parse".into())
    })?;
    let obj = v.as_object().ok_or_else(|| {
        SnsError::InvalidParameter("Invalid parameter: Message Structure - JSON message body failed to parse".into())
    })?;
    if !obj.get("default").is_some_and(|d| d.is_string()) {
        return Err(SnsError::InvalidParameter(
            "Invalid parameter: Message Structure - No default entry in JSON message body".into(),
        ));
    }
    Ok(obj
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
        .collect())
}

fn check_publish(p: &Publish, fifo: bool) -> Result<()> {
    if p.message.is_empty() {
        return Err(SnsError::InvalidParameter("Invalid parameter: Empty message".into()));
    }
    let size = p.message.len() + crate::message::attributes_size(&p.attributes);
    if size > MAX_MESSAGE_BYTES {
        return Err(SnsError::InvalidParameter("Invalid parameter: Message too long".into()));
    }
    if let Some(s) = &p.subject
        && (s.is_empty() || s.chars().count() >= 100 || s.chars().any(|c| c.is_control()))
    {
        return Err(SnsError::InvalidParameter("Invalid parameter: Subject".into()));
    }
    if fifo && p.group.is_none() {
        return Err(SnsError::InvalidParameter(
            "Invalid parameter: The MessageGroupId parameter is required for FIFO topics".into(),
        ));
    }
    crate::send::check_attributes(&p.attributes).map_err(|e| SnsError::InvalidParameter(e.to_string()))
}

fn check_topic_attribute(name: &str, value: &str, fifo: bool) -> Result<()> {
    const KNOWN: &[&str] = &[
        "DeliveryPolicy",
        "DisplayName",
        "FifoTopic",
        "Policy",
        "KmsMasterKeyId",
        "SignatureVersion",
        "TracingConfig",
        "ContentBasedDeduplication",
        "ArchivePolicy",
        "FifoThroughputScope",
        "DataProtectionPolicy",
    ];
    if !KNOWN.contains(&name) || (name == "ContentBasedDeduplication" && !fifo) {
        return Err(SnsError::InvalidParameter(format!(
            "Invalid parameter: AttributeName {name}"
        )));
    }
    if name == "SignatureVersion" && !matches!(value, "1" | "2") {
        return Err(SnsError::InvalidParameter("Invalid parameter: SignatureVersion".into()));
    }
    if matches!(name, "DeliveryPolicy" | "Policy") && serde_json::from_str::<serde_json::Value>(value).is_err() {
        return Err(SnsError::InvalidParameter(format!("Invalid parameter: {name}")));
    }
    Ok(())
}

fn check_subscription_attribute(name: &str, value: &str) -> Result<()> {
    match name {
        "RawMessageDelivery" => match value {
            "true" | "false" => Ok(()),
            _ => Err(SnsError::InvalidParameter(
                "Invalid parameter: RawMessageDelivery".into(),
            )),
        },
        "FilterPolicy" if value.is_empty() => Ok(()),
        "FilterPolicy" => filter::check_policy(value)
            .map(|_| ())
            .map_err(|r| SnsError::InvalidParameter(format!("Invalid parameter: FilterPolicy: {r}"))),
        "FilterPolicyScope" => match value {
            "MessageAttributes" | "MessageBody" => Ok(()),
            _ => Err(SnsError::InvalidParameter(
                "Invalid parameter: FilterPolicyScope".into(),
            )),
        },
        "RedrivePolicy" | "DeliveryPolicy" => serde_json::from_str::<serde_json::Value>(value)
            .map(|_| ())
            .map_err(|_| SnsError::InvalidParameter(format!("Invalid parameter: {name}"))),
        "SubscriptionRoleArn" => Ok(()),
        _ => Err(SnsError::InvalidParameter(format!(
            "Invalid parameter: AttributeName {name}"
        ))),
    }
}

/// Retries and the delay between them from the subscription's DeliveryPolicy
/// (`healthyRetryPolicy.numRetries`, `minDelayTarget` in seconds); SNS's HTTP default is 3
/// retries 20 seconds apart.
fn retry_policy(sub: &Subscription) -> (u32, Duration) {
    let policy = sub
        .attributes
        .get("DeliveryPolicy")
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok());
    let h = policy.as_ref().map(|p| &p["healthyRetryPolicy"]);
    let retries = h.and_then(|h| h["numRetries"].as_u64()).unwrap_or(3).min(100) as u32;
    let delay = h
        .and_then(|h| h["minDelayTarget"].as_u64())
        .unwrap_or(20)
        .clamp(1, 3600);
    (retries, Duration::from_secs(delay))
}

const DEFAULT_DELIVERY_POLICY: &str = r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}"#;

fn default_policy(arn: &str, account: &str) -> String {
    serde_json::json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                       "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                       "SNS:ListSubscriptionsByTopic", "SNS:Publish"],
            "Resource": arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
    .to_string()
}

/// SNS's envelope, members in the order AWS sends them (recorded).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope {
    #[serde(rename = "Type")]
    kind: &'static str,
    message_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    topic_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    message: String,
    #[serde(rename = "SubscribeURL", skip_serializing_if = "Option::is_none")]
    subscribe_url: Option<String>,
    timestamp: String,
    signature_version: String,
    signature: String,
    #[serde(rename = "SigningCertURL")]
    signing_cert_url: String,
    #[serde(rename = "UnsubscribeURL", skip_serializing_if = "Option::is_none")]
    unsubscribe_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_attributes: Option<BTreeMap<String, EnvelopeAttribute>>,
}

impl Envelope {
    /// Signs the envelope with `key`, by its SignatureVersion, naming the certificate's URL
    /// on `base_url`.
    fn signed(mut self, key: &SigningKey, base_url: &str) -> Envelope {
        let text = signing::string_to_sign(&Signed {
            kind: self.kind,
            message: &self.message,
            message_id: &self.message_id,
            subject: self.subject.as_deref(),
            subscribe_url: self.subscribe_url.as_deref(),
            timestamp: &self.timestamp,
            token: self.token.as_deref(),
            topic_arn: &self.topic_arn,
        });
        self.signature = key.sign(&self.signature_version, &text);
        self.signing_cert_url = format!("{base_url}/{}", key.cert_name());
        self
    }
}

/// SNS's event for a Lambda subscription: the envelope's fields under `Sns`, with the
/// `…Url` spellings Lambda's event uses, `Subject` null when absent and `MessageAttributes`
/// always present.
fn lambda_event(env: &Envelope, subscription_arn: &str) -> String {
    let attributes = env
        .message_attributes
        .as_ref()
        .map(|a| serde_json::to_value(a).unwrap_or_default())
        .unwrap_or_else(|| serde_json::json!({}));
    serde_json::json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": subscription_arn,
            "Sns": {
                "Type": env.kind,
                "MessageId": env.message_id,
                "TopicArn": env.topic_arn,
                "Subject": env.subject,
                "Message": env.message,
                "Timestamp": env.timestamp,
                "SignatureVersion": env.signature_version,
                "Signature": env.signature,
                "SigningCertUrl": env.signing_cert_url,
                "UnsubscribeUrl": env.unsubscribe_url,
                "MessageAttributes": attributes,
            },
        }],
    })
    .to_string()
}

/// A topic's SignatureVersion ("1" unless set).
fn signature_version(c: &Catalog, topic: &str) -> String {
    c.topics
        .get(topic)
        .and_then(|t| t.attributes.get("SignatureVersion"))
        .cloned()
        .unwrap_or_else(|| "1".to_owned())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EnvelopeAttribute {
    #[serde(rename = "Type")]
    kind: String,
    value: String,
}

fn envelope_attributes(attributes: &[MessageAttribute]) -> Option<BTreeMap<String, EnvelopeAttribute>> {
    (!attributes.is_empty()).then(|| {
        attributes
            .iter()
            .map(|a| {
                let value = match &a.value {
                    AttributeValue::String(s) => s.clone(),
                    AttributeValue::Binary(b) => {
                        use base64::Engine as _;
                        base64::engine::general_purpose::STANDARD.encode(b)
                    }
                };
                (
                    a.name.clone(),
                    EnvelopeAttribute {
                        kind: a.data_type.clone(),
                        value,
                    },
                )
            })
            .collect()
    })
}

pub use rheo_types::clock::iso8601;

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_iso8601() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_796_232_942_757), "2026-12-02T17:35:42.757Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn json_structures_need_a_default() {
        let p = |m: &str| Publish {
            message: m.into(),
            structure: Some("json".into()),
            ..Publish::default()
        };
        let b = bodies(&p(r#"{"default": "d", "sqs": "q"}"#)).unwrap();
        assert_eq!((b["default"].as_str(), b["sqs"].as_str()), ("d", "q"));
        assert!(bodies(&p(r#"{"sqs": "q"}"#)).is_err());
        assert!(bodies(&p("nope")).is_err());
    }
}
