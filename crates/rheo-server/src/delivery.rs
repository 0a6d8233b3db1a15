//! What a tenant's delivery streams reach: its buckets (local, or on an external store for the
//! server's own account) and its functions, behind `rheo-delivery`'s seams.

use crate::auth::TenantState;
use crate::s3::Externals;
use rheo_delivery::{BoxFuture, Written};
use rheo_objects::local::{ObjectError, Origin, Precondition, PutInput};
use std::io::Write;
use std::sync::{Arc, Weak};

/// The tenant's buckets. Holding its engine keeps the tenant open while it delivers.
pub(crate) struct TenantBuckets {
    pub tenant: Weak<TenantState>,
    pub externals: Externals,
    pub _engine: rheo_engine::Engine,
}

fn input(content_encoding: Option<&str>) -> PutInput {
    PutInput {
        content_type: Some("application/octet-stream".into()),
        content_encoding: content_encoding.map(str::to_owned),
        ..PutInput::default()
    }
}

/// Lets `fill` write into a local object.
struct LocalWriter<'a, 'b>(&'a mut rheo_objects::local::NewObject<'b>);

impl Write for LocalWriter<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl rheo_delivery::Buckets for TenantBuckets {
    fn write(
        &self,
        bucket: &str,
        key: &str,
        content_encoding: Option<&str>,
        fill: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<bool>,
    ) -> Result<Written, String> {
        let tenant = self.tenant.upgrade().ok_or("the account and region were closed")?;
        let now = tenant.engine.now();
        if let Some(x) = self.externals.get(bucket) {
            let mut body = Vec::new();
            if !fill(&mut body).map_err(|e| e.to_string())? {
                return Ok(Written::Empty);
            }
            let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(body))]);
            let put = tokio::runtime::Handle::current().block_on(x.put(key, &input(content_encoding), true, stream));
            return match put {
                Ok(_) => Ok(Written::Created),
                Err(rheo_objects::external::PutFailure::Store(ObjectError::PreconditionFailed)) => Ok(Written::Existed),
                Err(e) => Err(format!("writing to the external bucket {bucket} failed: {e:?}")),
            };
        }
        let objects = tenant.objects().map_err(|e| e.message.unwrap_or_default())?;
        let mut obj = objects.store.new_object(bucket).map_err(|e| format!("{e:?}"))?;
        if !fill(&mut LocalWriter(&mut obj)).map_err(|e| e.to_string())? {
            obj.abort();
            return Ok(Written::Empty);
        }
        let origin = Origin {
            event: "ObjectCreated:Put".into(),
            principal: "firehose.amazonaws.com".into(),
            source_ip: "127.0.0.1".into(),
        };
        match obj.commit_if(key, input(content_encoding), origin, Some(Precondition::Absent), now) {
            Ok(_) => {
                objects.events.changed(bucket);
                Ok(Written::Created)
            }
            Err(ObjectError::PreconditionFailed) => Ok(Written::Existed),
            Err(e) => Err(format!("writing to the bucket {bucket} failed: {e:?}")),
        }
    }
}

/// The tenant's functions, invoked synchronously.
pub(crate) struct TenantFunctions(pub Weak<TenantState>);

impl rheo_delivery::Functions for TenantFunctions {
    fn invoke(&self, arn: &str, payload: Vec<u8>) -> BoxFuture<Result<Vec<u8>, String>> {
        let tenant = self.0.upgrade();
        let arn = arn.to_owned();
        Box::pin(async move {
            let tenant = tenant.ok_or("the account and region were closed")?;
            let functions = tenant.functions().map_err(|e| e.message.unwrap_or_default())?;
            let (name, qualifier) = functions.resolve(&arn).map_err(|e| e.to_string())?;
            let out = functions
                .invoke(
                    &name,
                    qualifier.as_deref(),
                    payload.into(),
                    rheo_functions::InvokeKind::RequestResponse,
                    false,
                    None,
                )
                .await
                .map_err(|e| e.to_string())?;
            match out.function_error {
                Some(kind) => Err(format!("{kind}: {}", String::from_utf8_lossy(&out.payload))),
                None => Ok(out.payload.to_vec()),
            }
        })
    }
}

/// Opens a tenant's delivery streams (their workers start).
pub(crate) fn open(
    tenant: &Arc<TenantState>,
    externals: &Externals,
    glue: rheo_delivery::glue::Glue,
) -> std::io::Result<rheo_delivery::Delivery> {
    let cfg = tenant.engine.config();
    let config = rheo_delivery::DeliveryConfig {
        dir: cfg.data_dir.join("firehose"),
        account: tenant.tenant.account.clone(),
        region: tenant.tenant.region.clone(),
        log: cfg.log,
    };
    let buckets = TenantBuckets {
        tenant: Arc::downgrade(tenant),
        externals: externals.clone(),
        _engine: tenant.engine.clone(),
    };
    rheo_delivery::Delivery::open(
        config,
        tenant.engine.clock(),
        tenant.engine.disk(),
        tenant.engine.clone(),
        Arc::new(buckets),
        Arc::new(TenantFunctions(Arc::downgrade(tenant))),
        glue,
    )
}
