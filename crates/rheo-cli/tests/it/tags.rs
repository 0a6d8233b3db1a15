//! Tags on streams, by name and by resource ARN.

use crate::common::*;

#[tokio::test]
async fn tags_add_list_page_and_remove() {
    let server = TestServer::start().await;
    let c = server.client();
    c.create_stream()
        .stream_name("tagged")
        .shard_count(1)
        .tags("team", "data")
        .send()
        .await
        .unwrap();
    c.add_tags_to_stream()
        .stream_name("tagged")
        .tags("env", "test")
        .tags("owner", "me")
        .send()
        .await
        .unwrap();
    let all = c.list_tags_for_stream().stream_name("tagged").send().await.unwrap();
    let keys: Vec<&str> = all.tags().iter().map(|t| t.key()).collect();
    assert_eq!(keys, ["env", "owner", "team"]);
    assert!(!all.has_more_tags());
    let page = c
        .list_tags_for_stream()
        .stream_name("tagged")
        .limit(1)
        .exclusive_start_tag_key("env")
        .send()
        .await
        .unwrap();
    assert_eq!(page.tags()[0].key(), "owner");
    assert!(page.has_more_tags());
    c.remove_tags_from_stream()
        .stream_name("tagged")
        .tag_keys("owner")
        .send()
        .await
        .unwrap();
    let arn = server.arn("tagged");
    c.tag_resource()
        .resource_arn(&arn)
        .tags("via", "arn")
        .send()
        .await
        .unwrap();
    let tags = c.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    let pairs: Vec<(&str, Option<&str>)> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(
        pairs,
        [("env", Some("test")), ("team", Some("data")), ("via", Some("arn"))]
    );
    c.untag_resource()
        .resource_arn(&arn)
        .tag_keys("via")
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .unwrap()
            .tags()
            .len(),
        1
    );
    // At most 50 tags on a stream, with AWS's type and (odd) text.
    let mut req = c.add_tags_to_stream().stream_name("tagged");
    for i in 0..50 {
        req = req.tags(format!("k{i}"), "v");
    }
    let err = req.send().await.unwrap_err();
    assert_eq!(
        err.as_service_error().unwrap().meta().message(),
        Some(
            "Failed to add tags to stream tagged under account 000000000000 because a given stream cannot have more than 10 tags associated with it."
        )
    );
    assert!(err.as_service_error().unwrap().is_invalid_argument_exception());
    // AWS's characters (kinesalite's tests against AWS): these pass...
    c.add_tags_to_stream()
        .stream_name("tagged")
        .tags("ü0 _.", "a")
        .tags("/=+-@", "a")
        .tags("b", "ü0 _./=+-@")
        .tags("c", "")
        .send()
        .await
        .unwrap();
    // ... a tab, a comma or a semicolon does not, and `%` has its own refusal.
    for bad in ["a\tb", "a,b", "a;b"] {
        let err = c
            .add_tags_to_stream()
            .stream_name("tagged")
            .tags(bad, "v")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            err.as_service_error().unwrap().meta().message(),
            Some(
                "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @."
            ),
            "{bad:?}"
        );
    }
    for (verb, err) in [
        (
            "add tags to",
            c.add_tags_to_stream()
                .stream_name("tagged")
                .tags("a%b", "v")
                .send()
                .await
                .unwrap_err()
                .into_service_error()
                .meta()
                .message()
                .map(str::to_owned),
        ),
        (
            "remove tags from",
            c.remove_tags_from_stream()
                .stream_name("tagged")
                .tag_keys("a%b")
                .send()
                .await
                .unwrap_err()
                .into_service_error()
                .meta()
                .message()
                .map(str::to_owned),
        ),
    ] {
        assert_eq!(
            err.unwrap(),
            format!(
                "Failed to {verb} stream tagged under account 000000000000 because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'."
            )
        );
    }
    assert_eq!(
        code(
            c.add_tags_to_stream()
                .stream_name("tagged")
                .tags("bad*key", "v")
                .send()
                .await
        ),
        "InvalidArgumentException"
    );
    assert_eq!(
        code(c.list_tags_for_stream().stream_name("nope").send().await),
        "ResourceNotFoundException"
    );
}
