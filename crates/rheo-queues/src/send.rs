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

/// InvalidMessageContents for the first character SQS refuses (AWS's wording, recorded in
/// the query era; how characters above `#xF` are spelled is not recorded).
fn invalid_chars(s: &str) -> QueueError {
    let c = s.chars().find(|c| !valid_chars(&c.to_string())).unwrap_or('\0');
    QueueError::InvalidMessageContents(format!(
        "Invalid binary character '#x{:X}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].",
        c as u32
    ))
}

/// Checks one message. `in_batch`: SendMessageBatch words the size error differently.
pub fn check(e: &SendEntry, rules: &Rules, in_batch: bool) -> Result<()> {
    if e.body.is_empty() {
        return Err(QueueError::MissingParameter(
            "The request must contain the parameter MessageBody.".into(),
        ));
    }
    if !valid_chars(&e.body) {
        return Err(invalid_chars(&e.body));
    }
    check_attributes(&e.attributes)?;
    let size = e.body.len() + attributes_size(&e.attributes);
    if size > rules.maximum_message_size {
        let verb = if in_batch { "cannot be validated" } else { "are invalid" };
        return Err(QueueError::InvalidParameterValue(format!(
            "One or more parameters {verb}. Reason: Message must be shorter than {} bytes.",
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
        fifo_ids(e, rules)?;
    } else if let Some(d) = &e.dedup_id {
        return Err(QueueError::InvalidParameterValue(format!(
            "Value {d} for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid for this queue type."
        )));
    }
    Ok(())
}

/// A FIFO message needs a group and, unless the queue deduplicates by content, an id.
pub fn fifo_ids(e: &SendEntry, rules: &Rules) -> Result<()> {
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
    Ok(())
}

/// Message attribute rules: at most 10; names of at most 256 characters from
/// letters, digits, `_`, `-` and `.`, not starting with `AWS.` or `Amazon.`, without leading, trailing or
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
            && n.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
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
                return bad(format!("Message (user) attribute '{n}' contains invalid characters."));
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

/// The rules every batch request shares, checked before any entry: 1 to 10 entries, ids of
/// at most 80 characters from `[A-Za-z0-9_-]`, all distinct. `entry` names the entry shape
/// in the empty-batch message (`SendMessageBatchRequestEntry`).
pub fn check_batch<'a>(ids: impl ExactSizeIterator<Item = &'a str>, entry: &str) -> Result<()> {
    let n = ids.len();
    if n == 0 {
        return Err(QueueError::EmptyBatchRequest(format!(
            "There should be at least one {entry} in the request."
        )));
    }
    if n > 10 {
        return Err(QueueError::TooManyEntriesInBatchRequest(format!(
            "Maximum number of entries per request are 10. You have sent {n}."
        )));
    }
    let mut seen: Vec<&str> = Vec::with_capacity(n);
    for id in ids {
        let ok =
            !id.is_empty() && id.len() <= 80 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(QueueError::InvalidBatchEntryId(
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long."
                    .into(),
            ));
        }
        if seen.contains(&id) {
            return Err(QueueError::BatchEntryIdsNotDistinct(format!("Id {id} repeated.")));
        }
        seen.push(id);
    }
    Ok(())
}

/// The most a SendMessageBatch may carry in bodies and attributes, whatever the queue's
/// MaximumMessageSize.
pub const MAX_BATCH_BYTES: usize = 1_048_576;

pub fn check_batch_size(entries: &[SendEntry]) -> Result<()> {
    let total: usize = entries
        .iter()
        .map(|e| e.body.len() + attributes_size(&e.attributes))
        .sum();
    if total > MAX_BATCH_BYTES {
        return Err(QueueError::BatchRequestTooLong(format!(
            "Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have sent {total} bytes."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_and_messages_are_checked_as_sqs_does() {
        assert!(matches!(
            check_batch([].into_iter(), "X"),
            Err(QueueError::EmptyBatchRequest(_))
        ));
        assert!(matches!(
            check_batch(["a", "a"].into_iter(), "X"),
            Err(QueueError::BatchEntryIdsNotDistinct(_))
        ));
        assert!(matches!(
            check_batch(["a:b"].into_iter(), "X"),
            Err(QueueError::InvalidBatchEntryId(_))
        ));
        let ids: Vec<String> = (0..11).map(|i| i.to_string()).collect();
        let err = check_batch(ids.iter().map(String::as_str), "X").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Maximum number of entries per request are 10. You have sent 11."
        );
        let rules = Rules {
            fifo: false,
            content_based_dedup: false,
            maximum_message_size: 1024,
        };
        let e = SendEntry {
            body: "a".repeat(1024),
            ..SendEntry::default()
        };
        assert!(check(&e, &rules, false).is_ok(), "as long as the limit is allowed");
        let e = SendEntry {
            body: "\u{1}".into(),
            ..SendEntry::default()
        };
        assert_eq!(
            check(&e, &rules, false).unwrap_err().to_string(),
            "Invalid binary character '#x1' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]."
        );
        let attr = |name: &str, value: &str| MessageAttribute {
            name: name.into(),
            data_type: "String".into(),
            value: AttributeValue::String(value.into()),
        };
        assert!(check_attributes(&[attr("attr.1øßä", "x")]).is_ok());
        for bad in ["aWs.x", "AMAZON.x", ".x", "x.", "a!b"] {
            assert!(check_attributes(&[attr(bad, "x")]).is_err(), "{bad}");
        }
        assert_eq!(
            check_attributes(&[attr("ErrorDetails", "")]).unwrap_err().to_string(),
            "Message (user) attribute 'ErrorDetails' must contain a non-empty value of type 'String'."
        );
    }
}
