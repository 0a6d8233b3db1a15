//! The token key every service signs its opaque tokens with: shard iterators, receipt handles and pagination tokens carry an HMAC-SHA256 tag
//! (truncated to 128 bits) under a 256-bit key drawn from the operating system's RNG when the
//! catalog is created and kept in it, so tokens survive restarts and cannot be made or edited
//! without the key.

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;

/// Bytes of tag appended to a token.
pub const TAG_BYTES: usize = 16;

#[derive(Clone, PartialEq, Eq)]
pub struct MacKey([u8; 32]);

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey(..)")
    }
}

impl MacKey {
    /// A fresh key from the operating system's RNG.
    pub fn generate() -> std::io::Result<MacKey> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| std::io::Error::other(format!("the OS RNG failed: {e}")))?;
        Ok(MacKey(k))
    }

    /// A fixed key, for tests.
    pub fn from_bytes(k: [u8; 32]) -> MacKey {
        MacKey(k)
    }

    pub fn tag(&self, bytes: &[u8]) -> [u8; TAG_BYTES] {
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.0).expect("any key length");
        mac.update(bytes);
        let full: [u8; 32] = mac.finalize().into_bytes().into();
        let mut out = [0u8; TAG_BYTES];
        out.copy_from_slice(&full[..TAG_BYTES]);
        out
    }

    /// Splits `sealed` into its body and tag and checks the tag in constant time.
    pub fn open<'a>(&self, sealed: &'a [u8]) -> Option<&'a [u8]> {
        let body_len = sealed.len().checked_sub(TAG_BYTES)?;
        let (body, tag) = sealed.split_at(body_len);
        bool::from(self.tag(body).ct_eq(tag)).then_some(body)
    }

    /// `bytes` with its tag appended.
    pub fn seal(&self, mut bytes: Vec<u8>) -> Vec<u8> {
        let tag = self.tag(&bytes);
        bytes.extend_from_slice(&tag);
        bytes
    }

    /// A pagination token: `value` as JSON, sealed, URL-safe base64.
    pub fn encode_token<T: Serialize>(&self, value: &T) -> String {
        use base64::Engine as _;
        let json = serde_json::to_vec(value).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.seal(json))
    }

    /// The value of a token made by [`MacKey::encode_token`] with this key; `None` for anything
    /// else.
    pub fn decode_token<T: serde::de::DeserializeOwned>(&self, token: &str) -> Option<T> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
        serde_json::from_slice(self.open(&bytes)?).ok()
    }
}

impl Serialize for MacKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&hex)
    }
}

impl<'de> Deserialize<'de> for MacKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MacKey, D::Error> {
        let hex = String::deserialize(d)?;
        let bad = || serde::de::Error::custom("the token key must be 64 hex digits");
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(bad());
        }
        let mut k = [0u8; 32];
        for (i, slot) in k.iter_mut().enumerate() {
            let pair = hex.get(2 * i..2 * i + 2).ok_or_else(bad)?;
            *slot = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(MacKey(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_open_only_under_their_key_and_unedited() {
        let k = MacKey::from_bytes([7; 32]);
        let t = k.encode_token(&("orders", 3u32));
        assert_eq!(k.decode_token::<(String, u32)>(&t), Some(("orders".into(), 3)));
        assert_eq!(MacKey::from_bytes([8; 32]).decode_token::<(String, u32)>(&t), None);
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut raw = b64.decode(&t).unwrap();
        raw[3] ^= 1;
        assert_eq!(k.decode_token::<(String, u32)>(&b64.encode(&raw)), None);
        // An unsealed token, as they were before: refused.
        let plain = b64.encode(serde_json::to_vec(&("orders", 3u32)).unwrap());
        assert_eq!(k.decode_token::<(String, u32)>(&plain), None);
        assert_eq!(k.decode_token::<(String, u32)>(""), None);
    }

    #[test]
    fn keys_round_trip_as_hex() {
        let k = MacKey::generate().unwrap();
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(serde_json::from_str::<MacKey>(&json).unwrap(), k);
        assert!(serde_json::from_str::<MacKey>("\"zz\"").is_err());
        assert!(serde_json::from_str::<MacKey>(&format!("\"{}é\"", "0".repeat(62))).is_err());
    }
}
