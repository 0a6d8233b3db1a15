//! Where a tenant's asynchronous invocations send their results: SQS queues, SNS topics and
//! functions of the same account and region, by ARN, through their services' public APIs.

use crate::auth::TenantState;
use rheo_functions::{Destinations, InvokeKind};
use rheo_queues::SendEntry;
use rheo_queues::topics::Publish;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};

pub struct TenantDestinations {
    tenant: Weak<TenantState>,
}

impl TenantDestinations {
    pub fn new(tenant: &Arc<TenantState>) -> TenantDestinations {
        TenantDestinations {
            tenant: Arc::downgrade(tenant),
        }
    }
}

impl Destinations for TenantDestinations {
    fn deliver(&self, arn: String, body: String) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> {
        let tenant = self.tenant.clone();
        Box::pin(async move {
            let tenant = tenant.upgrade().ok_or("the account and region were closed")?;
            deliver(&tenant, &arn, body).await
        })
    }
}

/// SNS's `lambda` subscriptions: an asynchronous invocation of the function.
pub struct SnsToFunctions(pub Weak<TenantState>);

impl rheo_queues::topics::FunctionSink for SnsToFunctions {
    fn invoke(&self, function_arn: String, event: String) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> {
        let tenant = self.0.clone();
        Box::pin(async move {
            let tenant = tenant.upgrade().ok_or("the account and region were closed")?;
            let functions = tenant.functions().map_err(|e| e.message.unwrap_or_default())?;
            let (name, _) = functions.resolve(&function_arn).map_err(|e| e.to_string())?;
            functions
                .invoke(&name, None, event.into(), InvokeKind::Event, false, None)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

async fn deliver(tenant: &Arc<TenantState>, arn: &str, body: String) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    let [_, _, service, region, account, name, rest @ ..] = parts.as_slice() else {
        return Err(format!("not an ARN: {arn}"));
    };
    if *region != tenant.tenant.region || *account != tenant.tenant.account {
        return Err(format!("{arn} is not in this account and region"));
    }
    let err = |e: crate::error::ApiError| e.message.unwrap_or_else(|| e.kind.to_owned());
    match *service {
        "sqs" => {
            let entry = SendEntry {
                body,
                ..SendEntry::default()
            };
            let sent = tenant
                .sqs()
                .map_err(err)?
                .send(name, vec![entry], account, false)
                .await
                .map_err(|e| e.to_string())?;
            match sent.into_iter().next() {
                Some(Err(e)) => Err(e.to_string()),
                _ => Ok(()),
            }
        }
        "sns" => {
            let sns = tenant.sns().map_err(err)?;
            let publish = Publish {
                message: body,
                ..Publish::default()
            };
            let base = tenant.functions().map_err(err)?.endpoint_url().to_owned();
            sns.publish(arn, publish, &base)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        "lambda" => {
            let function = rest.first().copied().unwrap_or(name);
            let functions = tenant.functions().map_err(err)?;
            let (name, _) = functions.resolve(function).map_err(|e| e.to_string())?;
            functions
                .invoke(&name, None, body.into(), InvokeKind::Event, false, None)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        other => Err(format!("Rheo does not deliver to {other} destinations")),
    }
}
