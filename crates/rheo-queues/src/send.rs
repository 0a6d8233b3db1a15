//! The checks SQS makes on a message before it stores it (rules the model does not state;
//! each message below is SQS's, see docs/compatibility.md for their sources).

use crate::error::{QueueError, Result};
use crate::message::{AttributeValue, MessageAttribute, attributes_size};

/// A message to send, as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct SendEntry {
    pub body: String,
    pub delay_s: Option<i64>,
    pub attributes: Vec<MessageAttribute>,
    pub trace_header: Option<String>,
    pub group: Option<String>,
    pub dedup_id: Option<String>,
}

/// What the queue needs to know to check a message.
pub struct Rules {
    pub fifo: bool,
    pub content_based_dedup: bool,
    pub maximum_message_size: usize,
}

/// The characters SQS accepts in bodies and string attribute values (the XML 1.0 `Char`
/// production).
pub fn valid_chars(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    })
}

const INVALID_CHARS: &str = "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF";

pub fn check(e: &SendEntry, rules: &Rules) -> Result<()> {
    if e.body.is_empty() {
        return Err(QueueError::MissingParameter(
            "The request must contain the parameter MessageBody.".into(),
        ));
    }
    if !valid_chars(&e.body) {
        return Err(QueueError::InvalidMessageContents(INVALID_CHARS.into()));
    }
    check_attributes(&e.attributes)?;
    let size = e.body.len() + attributes_size(&e.attributes);
    if size > rules.maximum_message_size {
        return Err(QueueError::InvalidParameterValue(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {} bytes.",
            rules.maximum_message_size
        )));
    }
    if let Some(d) = e.delay_s {
        if !(0..=900).contains(&d) {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value {d} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."
            )));
        }
        if rules.fifo && d != 0 {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value {d} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."
            )));
        }
    }
    for (name, v) in [("MessageGroupId", &e.group), ("MessageDeduplicationId", &e.dedup_id)] {
        if let Some(v) = v
            && (v.is_empty() || v.len() > 128 || !v.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err(QueueError::InvalidParameterValue(format!(
                "Value {v} for parameter {name} is invalid. Reason: {name} can only include alphanumeric and punctuation characters. 1 to 128 in length."
            )));
        }
    }
    if rules.fifo {
        if e.group.is_none() {
            return Err(QueueError::MissingParameter(
                "The request must contain the parameter MessageGroupId.".into(),
            ));
        }
        if e.dedup_id.is_none() && !rules.content_based_dedup {
            return Err(QueueError::InvalidParameterValue(
                "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
                    .into(),
            ));
        }
    } else if let Some(d) = &e.dedup_id {
        return Err(QueueError::InvalidParameterValue(format!(
            "Value {d} for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid for this queue type."
        )));
    }
    Ok(())
}

/// Message attribute rules: at most 10; names of at most 256 characters from
/// `[A-Za-z0-9_.-]`, not starting with `AWS.` or `Amazon.`, without leading, trailing or
/// doubled dots; types String, Number or Binary, optionally with a `.label`; values present.
pub fn check_attributes(attributes: &[MessageAttribute]) -> Result<()> {
    let bad = |m: String| Err(QueueError::InvalidParameterValue(m));
    if attributes.len() > 10 {
        return bad(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [10].",
            attributes.len()
        ));
    }
    for a in attributes {
        let n = &a.name;
        let lower = n.to_ascii_lowercase();
        let name_ok = !n.is_empty()
            && n.len() <= 256
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !n.starts_with('.')
            && !n.ends_with('.')
            && !n.contains("..")
            && !lower.starts_with("aws.")
            && !lower.starts_with("amazon.");
        if !name_ok {
            return bad(format!("Message (user) attribute name '{n}' is invalid."));
        }
        let base = a.data_type.split('.').next().unwrap_or_default();
        if !matches!(base, "String" | "Number" | "Binary") || a.data_type.len() > 256 {
            return bad(format!(
                "The type of message (user) attribute '{n}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
            ));
        }
        match (&a.value, base) {
            (AttributeValue::String(s), "String" | "Number") if s.is_empty() => {
                return bad(format!(
                    "Message (user) attribute '{n}' must contain a non-empty value of type '{base}'."
                ));
            }
            (AttributeValue::String(s), "String") if !valid_chars(s) => {
                return Err(QueueError::InvalidMessageContents(INVALID_CHARS.into()));
            }
            (AttributeValue::String(s), "Number") if s.trim().parse::<f64>().is_err() => {
                return bad(format!(
                    "Can't cast the value of message (user) attribute '{n}' to a number."
                ));
            }
            (AttributeValue::Binary(b), "Binary") if b.is_empty() => {
                return bad(format!(
                    "Message (user) attribute '{n}' must contain a non-empty value of type 'Binary'."
                ));
            }
            (AttributeValue::String(_), "String" | "Number") | (AttributeValue::Binary(_), "Binary") => {}
            _ => {
                return bad(format!(
                    "Message (user) attribute '{n}' must contain a non-empty value of type '{base}'."
                ));
            }
        }
    }
    let mut names: Vec<&str> = attributes.iter().map(|a| a.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return bad(format!("Message (user) attribute name '{}' is duplicated.", w[0]));
    }
    Ok(())
}
