//! Who a request is from: its SigV4 signature, checked against the configured credentials,
//! picks the tenant (account and region) whose streams it sees.
//!
//! - With credentials configured, every Kinesis request must carry a valid signature (header
//!   or presigned) of a known access key, within AWS's 5-minute clock skew window. The key's
//!   account and the region of the signature's scope are the tenant.
//! - Without credentials (allowed on loopback, or with the explicit opt-out), any well-formed
//!   signature is accepted without checking it: the scope's region is the tenant's region, and
//!   an access key id of 12 digits names the account (as kinesis-mock and LocalStack do);
//!   otherwise the server's account.
//!
//! Unsigned requests are refused in both modes (MissingAuthenticationTokenException), as AWS
//! does. Each tenant has its own engine (`Tenants`), so accounts and regions never see each
//! other's streams.

use crate::error::ApiError;
use rheo_engine::Engine;
use rheo_wire::sigv4::{self, RequestParts, SigError};
use std::collections::HashMap;
use std::sync::Mutex;

/// A credential Rheo accepts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Credential {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The account its requests act in; the server's account when absent.
    #[serde(default)]
    pub account_id: Option<String>,
}

impl Credential {
    /// `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:ACCOUNT_ID]`.
    pub fn parse_spec(spec: &str) -> Result<Credential, String> {
        let mut parts = spec.splitn(3, ':');
        let (Some(id), Some(secret)) = (parts.next(), parts.next()) else {
            return Err("expected ACCESS_KEY_ID:SECRET_ACCESS_KEY[:ACCOUNT_ID]".into());
        };
        let c = Credential {
            access_key_id: id.to_owned(),
            secret_access_key: secret.to_owned(),
            account_id: parts.next().map(str::to_owned),
        };
        c.check()?;
        Ok(c)
    }

    pub fn check(&self) -> Result<(), String> {
        if self.access_key_id.is_empty() || self.secret_access_key.is_empty() {
            return Err("the access key id and the secret must not be empty".into());
        }
        if let Some(a) = &self.account_id
            && !is_account(a)
        {
            return Err(format!("account id must be 12 digits, got {a:?}"));
        }
        Ok(())
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whom a request acts for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant {
    pub account: String,
    pub region: String,
}

fn sig_error(e: SigError) -> ApiError {
    ApiError::new(e.name(), e.message())
}

/// Checks a request's signature; returns its tenant.
pub fn authenticate(
    credentials: &[Credential],
    default_account: &str,
    req: &RequestParts<'_>,
    body: &[u8],
    now_ms: i64,
) -> Result<Tenant, ApiError> {
    let sig = sigv4::parse(req).map_err(sig_error)?;
    if !is_region(&sig.scope.region) {
        return Err(sig_error(SigError::Incomplete(format!(
            "Credential should be scoped to a valid region, not '{}'.",
            sig.scope.region
        ))));
    }
    if credentials.is_empty() {
        let key = &sig.scope.access_key;
        let account = if is_account(key) {
            key.clone()
        } else {
            default_account.to_owned()
        };
        return Ok(Tenant {
            account,
            region: sig.scope.region,
        });
    }
    let Some(cred) = credentials.iter().find(|c| c.access_key_id == sig.scope.access_key) else {
        return Err(sig_error(SigError::UnknownKey));
    };
    if sig.scope.service != "kinesis" {
        return Err(sig_error(SigError::Incomplete(
            "Credential should be scoped to correct service: 'kinesis'.".into(),
        )));
    }
    sigv4::check_time(&sig, now_ms).map_err(sig_error)?;
    sigv4::verify_request(req, &sig, &cred.secret_access_key, body).map_err(sig_error)?;
    Ok(Tenant {
        account: cred.account_id.clone().unwrap_or_else(|| default_account.to_owned()),
        region: sig.scope.region,
    })
}

/// One engine per tenant: the server's own (its configured account and region), and others
/// opened on first use.
pub struct Tenants {
    default: Engine,
    others: Mutex<HashMap<Tenant, Engine>>,
}

impl Tenants {
    pub fn new(default: Engine) -> Tenants {
        Tenants {
            default,
            others: Mutex::default(),
        }
    }

    pub fn default_engine(&self) -> &Engine {
        &self.default
    }

    pub fn engine(&self, t: &Tenant) -> Result<Engine, ApiError> {
        let cfg = self.default.config();
        if t.account == cfg.account && t.region == cfg.region {
            return Ok(self.default.clone());
        }
        let mut others = self.others.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = others.get(t) {
            return Ok(e.clone());
        }
        let engine = self.default.sibling(&t.account, &t.region).map_err(|e| {
            tracing::error!(error = %e, account = %t.account, region = %t.region, "opening a tenant failed");
            ApiError::internal()
        })?;
        tracing::info!(account = %t.account, region = %t.region, "serving a new account and region");
        others.insert(t.clone(), engine.clone());
        Ok(engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_specs_parse() {
        let c = Credential::parse_spec("AKID:se:cr:et").unwrap_err();
        assert!(c.contains("12 digits"), "{c}");
        let c = Credential::parse_spec("AKID:secret:111111111111").unwrap();
        assert_eq!(c.account_id.as_deref(), Some("111111111111"));
        assert_eq!(Credential::parse_spec("AKID:secret").unwrap().account_id, None);
        assert!(Credential::parse_spec("AKID").is_err());
        assert!(Credential::parse_spec(":secret").is_err());
    }
}
