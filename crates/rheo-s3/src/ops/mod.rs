//! The S3 actions, one file each: s3s's `S3` trait answered from the tenant's local buckets.

mod common;

use common::context;
pub(crate) use common::status_of;
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result};

/// The backend s3s calls; each request carries its tenant's [`crate::RequestContext`].
pub(crate) struct Backend;

/// Access is Rheo's front door's business: s3s sees only requests it already admitted.
pub(crate) struct Anyone;

#[async_trait::async_trait]
impl s3s::access::S3Access for Anyone {
    async fn check(&self, _cx: &mut s3s::access::S3AccessContext<'_>) -> S3Result<()> {
        Ok(())
    }
}

macro_rules! actions {
    ($($name:ident: $input:ident => $output:ident),* $(,)?) => {
        $(mod $name;)*
        #[async_trait::async_trait]
        impl S3 for Backend {
            $(async fn $name(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                let cx = context(&req)?;
                $name::run(&cx, req).await.map(S3Response::new)
            })*
        }
    };
}

actions! {
    create_bucket: CreateBucketInput => CreateBucketOutput,
    delete_bucket: DeleteBucketInput => DeleteBucketOutput,
    head_bucket: HeadBucketInput => HeadBucketOutput,
    list_buckets: ListBucketsInput => ListBucketsOutput,
    get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput,
    put_object: PutObjectInput => PutObjectOutput,
    get_object: GetObjectInput => GetObjectOutput,
    head_object: HeadObjectInput => HeadObjectOutput,
    delete_object: DeleteObjectInput => DeleteObjectOutput,
    delete_objects: DeleteObjectsInput => DeleteObjectsOutput,
    copy_object: CopyObjectInput => CopyObjectOutput,
    list_objects: ListObjectsInput => ListObjectsOutput,
    list_objects_v2: ListObjectsV2Input => ListObjectsV2Output,
    create_multipart_upload: CreateMultipartUploadInput => CreateMultipartUploadOutput,
    upload_part: UploadPartInput => UploadPartOutput,
    upload_part_copy: UploadPartCopyInput => UploadPartCopyOutput,
    complete_multipart_upload: CompleteMultipartUploadInput => CompleteMultipartUploadOutput,
    abort_multipart_upload: AbortMultipartUploadInput => AbortMultipartUploadOutput,
    list_parts: ListPartsInput => ListPartsOutput,
    list_multipart_uploads: ListMultipartUploadsInput => ListMultipartUploadsOutput,
    put_object_tagging: PutObjectTaggingInput => PutObjectTaggingOutput,
    get_object_tagging: GetObjectTaggingInput => GetObjectTaggingOutput,
    delete_object_tagging: DeleteObjectTaggingInput => DeleteObjectTaggingOutput,
    put_bucket_tagging: PutBucketTaggingInput => PutBucketTaggingOutput,
    get_bucket_tagging: GetBucketTaggingInput => GetBucketTaggingOutput,
    delete_bucket_tagging: DeleteBucketTaggingInput => DeleteBucketTaggingOutput,
    put_bucket_notification_configuration: PutBucketNotificationConfigurationInput => PutBucketNotificationConfigurationOutput,
    get_bucket_notification_configuration: GetBucketNotificationConfigurationInput => GetBucketNotificationConfigurationOutput,
}
