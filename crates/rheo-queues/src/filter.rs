//! SNS filter policies: whether a message's attributes (scope `MessageAttributes`, the default)
//! or its JSON body (scope `MessageBody`) match a subscription's policy. Pure.
//!
//! As AWS documents them ("Amazon SNS message filtering"): every key of the policy must match
//! (AND); a key's array of conditions matches if any does (OR); `$or` takes alternative
//! policies. Conditions: a string or number (equality; numbers compare as numbers), `prefix`,
//! `suffix`, `equals-ignore-case`, `anything-but` (a value, a list, or a `prefix` / `suffix`),
//! `numeric` (`=`, `<`, `<=`, `>`, `>=` pairs, e.g. `[">", 0, "<=", 5]`) and `exists`. A value
//! that is an array (a `String.Array` attribute, or an array in the body) matches if any of its
//! elements does. Binary attributes are ignored. In the body scope policies nest as the body
//! does.

use crate::message::{AttributeValue, MessageAttribute};
use serde_json::{Map, Value};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Attributes,
    Body,
}

/// Whether the message matches `policy` (a JSON object).
pub fn matches(policy: &Value, scope: Scope, attributes: &[MessageAttribute], body: &str) -> bool {
    let Some(policy) = policy.as_object() else { return false };
    match scope {
        Scope::Attributes => matches_object(policy, &attributes_object(attributes)),
        Scope::Body => match serde_json::from_str::<Value>(body) {
            Ok(Value::Object(m)) => matches_object(policy, &m),
            _ => false,
        },
    }
}

/// Whether a JSON document matches an event pattern (EventBridge's syntax, as Lambda's
/// event filters use it): both must be objects.
pub fn matches_document(pattern: &Value, doc: &Value) -> bool {
    match (pattern.as_object(), doc.as_object()) {
        (Some(p), Some(d)) => matches_object(p, d),
        _ => false,
    }
}

/// The attributes as the values a policy is matched against.
fn attributes_object(attributes: &[MessageAttribute]) -> Map<String, Value> {
    let mut out = Map::new();
    for a in attributes {
        let AttributeValue::String(s) = &a.value else { continue };
        let base = a.data_type.split('.').next().unwrap_or_default();
        let v = match (base, a.data_type.as_str()) {
            (_, "String.Array") => serde_json::from_str::<Value>(s).unwrap_or_else(|_| Value::String(s.clone())),
            ("Number", _) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(s.clone())),
            _ => Value::String(s.clone()),
        };
        out.insert(a.name.clone(), v);
    }
    out
}

fn matches_object(policy: &Map<String, Value>, msg: &Map<String, Value>) -> bool {
    policy.iter().all(|(k, cond)| {
        if k == "$or" {
            return cond.as_array().is_some_and(|alts| {
                alts.iter()
                    .any(|p| p.as_object().is_some_and(|p| matches_object(p, msg)))
            });
        }
        match cond {
            Value::Object(nested) => msg
                .get(k)
                .and_then(Value::as_object)
                .is_some_and(|inner| matches_object(nested, inner)),
            Value::Array(conditions) => conditions.iter().any(|c| matches_one(c, msg.get(k))),
            single => matches_one(single, msg.get(k)),
        }
    })
}

/// The values a field holds: an array's elements, or the field itself.
fn values(field: &Value) -> Vec<&Value> {
    match field {
        Value::Array(items) => items.iter().collect(),
        v => vec![v],
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn matches_one(c: &Value, field: Option<&Value>) -> bool {
    match c {
        Value::Object(o) if o.len() == 1 => {
            let Some((op, arg)) = o.iter().next() else { return false };
            if op == "exists" {
                let present = field.is_some_and(|f| !f.is_null());
                return arg.as_bool() == Some(present);
            }
            let Some(field) = field else { return false };
            let vals = values(field);
            match op.as_str() {
                "prefix" => str_test(&vals, arg, |s, p| s.starts_with(p)),
                "suffix" => str_test(&vals, arg, |s, p| s.ends_with(p)),
                "equals-ignore-case" => str_test(&vals, arg, |s, p| s.eq_ignore_ascii_case(p)),
                "anything-but" => !vals.is_empty() && vals.iter().all(|v| !anything_but_hits(arg, v)),
                "numeric" => vals.iter().any(|v| num(v).is_some_and(|n| numeric(arg, n))),
                "cidr" => str_test(&vals, arg, in_cidr),
                _ => false,
            }
        }
        Value::Object(_) => false,
        Value::Number(n) => {
            let want = n.as_f64();
            field.is_some_and(|f| values(f).iter().any(|v| num(v).is_some() && num(v) == want))
        }
        Value::Null => field.is_some_and(Value::is_null),
        exact => field.is_some_and(|f| values(f).contains(&exact)),
    }
}

fn str_test(vals: &[&Value], arg: &Value, test: impl Fn(&str, &str) -> bool) -> bool {
    let Some(p) = arg.as_str() else { return false };
    vals.iter().any(|v| v.as_str().is_some_and(|s| test(s, p)))
}

/// Whether `v` is one of the values `anything-but` excludes.
fn anything_but_hits(arg: &Value, v: &Value) -> bool {
    match arg {
        Value::Array(items) => items.iter().any(|i| anything_but_hits(i, v)),
        Value::Object(o) => match (o.get("prefix"), o.get("suffix")) {
            (Some(p), _) => p.as_str().zip(v.as_str()).is_some_and(|(p, s)| s.starts_with(p)),
            (_, Some(x)) => x.as_str().zip(v.as_str()).is_some_and(|(x, s)| s.ends_with(x)),
            _ => false,
        },
        Value::Number(n) => num(v).is_some() && num(v) == n.as_f64(),
        other => other == v,
    }
}

/// Whether `ip` (an IPv4 or IPv6 address) is in `cidr` (`10.0.0.0/24`, `2001:db8::/32`).
fn in_cidr(ip: &str, cidr: &str) -> bool {
    let Some((net, bits)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(ip), Ok(net), Ok(bits)) = (ip.parse::<IpAddr>(), net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(a.to_bits()), u128::from(b.to_bits()), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (a.to_bits(), b.to_bits(), 128),
        _ => return false,
    };
    if bits > width {
        return false;
    }
    let shift = width - bits;
    ip.checked_shr(shift).unwrap_or(0) == net.checked_shr(shift).unwrap_or(0)
}

/// `["<", 5, ">=", 1]`: every comparison holds.
fn numeric(arg: &Value, n: f64) -> bool {
    let Some(parts) = arg.as_array() else { return false };
    if parts.is_empty() || parts.len() % 2 != 0 {
        return false;
    }
    parts.chunks(2).all(|pair| {
        let (Some(op), Some(x)) = (pair[0].as_str(), pair[1].as_f64()) else {
            return false;
        };
        match op {
            "=" => n == x,
            "<" => n < x,
            "<=" => n <= x,
            ">" => n > x,
            ">=" => n >= x,
            _ => false,
        }
    })
}

/// Checks a policy's shape: a JSON object of keys to conditions, at most 5 keys (AWS's
/// documented limit) and 256 KB. Returns the reason it is refused.
pub fn check_policy(text: &str) -> Result<Value, String> {
    if text.len() > 256 * 1024 {
        return Err("Filter policy is too long".into());
    }
    let v: Value = serde_json::from_str(text).map_err(|_| "failed to parse JSON.".to_owned())?;
    let Some(o) = v.as_object() else {
        return Err("Filter policy must be a JSON object".into());
    };
    if o.keys().filter(|k| *k != "$or").count() > 5 {
        return Err("Filter policy can not have more than 5 keys".into());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attr(name: &str, data_type: &str, value: &str) -> MessageAttribute {
        MessageAttribute {
            name: name.into(),
            data_type: data_type.into(),
            value: AttributeValue::String(value.into()),
        }
    }

    fn on_attrs(policy: Value, attrs: &[MessageAttribute]) -> bool {
        matches(&policy, Scope::Attributes, attrs, "")
    }

    /// Examples from "Amazon SNS message filtering" (AWS documentation).
    #[test]
    fn attribute_policies_match_as_documented() {
        let a = [
            attr("store", "String", "example_corp"),
            attr("event", "String", "order_placed"),
            attr("customer_interests", "String.Array", r#"["soccer", "rugby", "hockey"]"#),
            attr("price_usd", "Number", "210.75"),
        ];
        assert!(on_attrs(
            json!({"store": ["example_corp"], "event": [{"anything-but": "order_cancelled"}]}),
            &a
        ));
        assert!(on_attrs(json!({"customer_interests": ["rugby", "football"]}), &a));
        assert!(on_attrs(json!({"price_usd": [{"numeric": [">=", 100]}]}), &a));
        assert!(!on_attrs(json!({"price_usd": [{"numeric": [">", 0, "<=", 150]}]}), &a));
        assert!(on_attrs(
            json!({"event": [{"prefix": "order-"}, {"prefix": "order_"}]}),
            &a
        ));
        assert!(on_attrs(
            json!({"store": [{"exists": true}], "encrypted": [{"exists": false}]}),
            &a
        ));
        assert!(!on_attrs(json!({"store": ["other"]}), &a));
        assert!(!on_attrs(json!({"missing": ["x"]}), &a), "a key the message lacks");
        assert!(on_attrs(
            json!({"$or": [{"store": ["nope"]}, {"price_usd": [210.75]}]}),
            &a
        ));
        assert!(on_attrs(json!({"store": [{"equals-ignore-case": "EXAMPLE_CORP"}]}), &a));
        assert!(on_attrs(json!({"event": [{"suffix": "_placed"}]}), &a));
        assert!(!on_attrs(json!({"event": [{"anything-but": {"prefix": "order"}}]}), &a));
        let ip = [
            attr("source_ip", "String", "10.0.0.255"),
            attr("v6", "String", "2001:db8::1"),
        ];
        assert!(on_attrs(json!({"source_ip": [{"cidr": "10.0.0.0/24"}]}), &ip));
        assert!(!on_attrs(json!({"source_ip": [{"cidr": "10.0.1.0/24"}]}), &ip));
        assert!(on_attrs(json!({"source_ip": [{"cidr": "0.0.0.0/0"}]}), &ip));
        assert!(on_attrs(json!({"v6": [{"cidr": "2001:db8::/32"}]}), &ip));
        assert!(!on_attrs(json!({"v6": [{"cidr": "10.0.0.0/8"}]}), &ip));
        assert!(!on_attrs(json!({"source_ip": [{"cidr": "10.0.0.0/33"}]}), &ip));
    }

    #[test]
    fn body_policies_nest() {
        let body = r#"{"order": {"total": 30, "items": ["a", "b"]}, "region": "eu-west-1"}"#;
        let p = json!({"order": {"total": [{"numeric": [">", 20]}], "items": ["b"]}, "region": [{"prefix": "eu-"}]});
        assert!(matches(&p, Scope::Body, &[], body));
        assert!(!matches(&json!({"order": {"total": [10]}}), Scope::Body, &[], body));
        assert!(!matches(&p, Scope::Body, &[], "not json"));
    }

    #[test]
    fn policies_are_checked() {
        assert!(check_policy(r#"{"a": ["b"]}"#).is_ok());
        assert!(check_policy("[1]").is_err());
        assert!(check_policy(r#"{"a":[1],"b":[1],"c":[1],"d":[1],"e":[1],"f":[1]}"#).is_err());
    }
}
