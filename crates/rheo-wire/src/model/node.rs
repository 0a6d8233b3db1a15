//! A request body as a tree that borrows its strings from the body: what validation walks, and
//! what the typed request shapes then deserialize from. Blobs are decoded once, by the check,
//! and moved into the typed shape.

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A JSON value. Objects keep their members in the request's order, duplicates included.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Str(Cow<'a, str>),
    /// A blob member, decoded from base64 by [`super::check_input`].
    Blob(Vec<u8>),
    List(Vec<Node<'a>>),
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl<'a> Node<'a> {
    /// Parses a JSON body of at most [`MAX_NODES`] values.
    pub fn parse(body: &'a [u8]) -> Result<Node<'a>, serde_json::Error> {
        let budget = std::cell::Cell::new(MAX_NODES);
        let mut d = serde_json::Deserializer::from_slice(body);
        let node = NodeVisitor(&budget).deserialize(&mut d)?;
        d.end()?;
        Ok(node)
    }

    /// The member `name` of an object (the last one if repeated, as AWS's parser keeps).
    pub fn get(&self, name: &str) -> Option<&Node<'a>> {
        match self {
            Node::Object(members) => members.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }

    /// Decodes a typed shape from this tree.
    pub fn decode<T: de::Deserialize<'a>>(self) -> Result<T, de::value::Error> {
        T::deserialize(NodeDeserializer(self))
    }
}

/// The most values a request body may hold. A value takes 32 bytes or more in the tree whatever
/// its size in the body (`0,` is two bytes), so without a bound a 16 MiB body could take
/// hundreds of MiB; the largest Kinesis input (500 records of 3 members) holds about 2,000.
pub const MAX_NODES: usize = 1 << 16;

/// Parses one value, counting it against the request's budget.
struct NodeVisitor<'c>(&'c std::cell::Cell<usize>);

impl<'de> DeserializeSeed<'de> for NodeVisitor<'_> {
    type Value = Node<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        match self.0.get().checked_sub(1) {
            Some(left) => self.0.set(left),
            None => return Err(de::Error::custom(format!("more than {MAX_NODES} values"))),
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeVisitor<'_> {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node<'de>, E> {
        // JSON has no NaN or infinity; serde_json never produces them.
        Ok(serde_json::Number::from_f64(v).map_or(Node::Null, Node::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed(NodeVisitor(self.0))? {
            items.push(item);
        }
        Ok(Node::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut members = Vec::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            members.push((key.0, map.next_value_seed(NodeVisitor(self.0))?));
        }
        Ok(Node::Object(members))
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Deserializes typed shapes out of a [`Node`], moving its strings and blobs into them.
pub struct NodeDeserializer<'a>(pub Node<'a>);

fn visit_str<'a, V: Visitor<'a>>(s: Cow<'a, str>, visitor: V) -> Result<V::Value, de::value::Error> {
    match s {
        Cow::Borrowed(b) => visitor.visit_borrowed_str(b),
        Cow::Owned(o) => visitor.visit_string(o),
    }
}

impl<'a> Deserializer<'a> for NodeDeserializer<'a> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Node::Null => visitor.visit_unit(),
            Node::Bool(b) => visitor.visit_bool(b),
            Node::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or_default())
                }
            }
            Node::Str(s) => visit_str(s, visitor),
            Node::Blob(b) => visitor.visit_byte_buf(b),
            Node::List(items) => visitor.visit_seq(Items(items.into_iter())),
            Node::Object(members) => visitor.visit_map(Members {
                iter: members.into_iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Node::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Node::Str(s) => visitor.visit_enum(s.into_owned().into_deserializer()),
            _ => Err(de::Error::custom("expected a string for an enum")),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        <W: Visitor<'a>>
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct Items<'a>(std::vec::IntoIter<Node<'a>>);

impl<'a> SeqAccess<'a> for Items<'a> {
    type Error = de::value::Error;
    fn next_element_seed<T: DeserializeSeed<'a>>(&mut self, seed: T) -> Result<Option<T::Value>, Self::Error> {
        self.0.next().map(|n| seed.deserialize(NodeDeserializer(n))).transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Members<'a> {
    iter: std::vec::IntoIter<(Cow<'a, str>, Node<'a>)>,
    value: Option<Node<'a>>,
}

struct KeyDeserializer<'a>(Cow<'a, str>);

impl<'a> Deserializer<'a> for KeyDeserializer<'a> {
    type Error = de::value::Error;
    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visit_str(self.0, visitor)
    }
    serde::forward_to_deserialize_any! {
        <W: Visitor<'a>>
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string option
        bytes byte_buf unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'a> MapAccess<'a> for Members<'a> {
    type Error = de::value::Error;
    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(KeyDeserializer(k)).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(NodeDeserializer(v)),
            None => Err(de::Error::custom("a value without its key")),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Shape<'a> {
        #[serde(borrow)]
        data: Option<Cow<'a, str>>,
        count: Option<i64>,
        ratio: Option<f64>,
        flag: Option<bool>,
        list: Option<Vec<String>>,
        #[serde(default)]
        tags: std::collections::BTreeMap<String, String>,
    }

    #[test]
    fn typed_shapes_decode_from_the_tree() {
        let body =
            br#"{"Data":"aGk=","Count":3,"Ratio":1.5,"Flag":true,"List":["a","b"],"Tags":{"k":"v"},"Other":null}"#;
        let node = Node::parse(body).unwrap();
        assert!(
            matches!(node.get("Data"), Some(Node::Str(Cow::Borrowed(_)))),
            "{node:?}"
        );
        let shape: Shape = node.clone().decode().unwrap();
        assert_eq!(shape.data.as_deref(), Some("aGk="));
        assert_eq!(shape.count, Some(3));
        assert_eq!(shape.ratio, Some(1.5));
        assert_eq!(shape.flag, Some(true));
        assert_eq!(shape.list.unwrap(), ["a", "b"]);
        assert_eq!(shape.tags["k"], "v");
        let escaped = Node::parse(br#"{"Data":"a\nb"}"#).unwrap();
        let shape: Shape = escaped.decode().unwrap();
        assert_eq!(shape.data.as_deref(), Some("a\nb"));
        assert!(Node::parse(b" ").is_err());
    }

    #[test]
    fn a_body_holds_a_bounded_number_of_values() {
        let within = format!("[{}]", vec!["0"; MAX_NODES - 1].join(","));
        assert!(Node::parse(within.as_bytes()).is_ok());
        let over = format!("[{}]", vec!["0"; MAX_NODES].join(","));
        assert!(Node::parse(over.as_bytes()).is_err());
        assert!(Node::parse(b"{} x").is_err(), "trailing bytes");
    }

    #[test]
    fn repeated_members_keep_the_last() {
        let node = Node::parse(br#"{"A":1,"A":2}"#).unwrap();
        assert_eq!(node.get("A"), Some(&Node::Number(2.into())));
    }
}
