//! The App API discovery calls: saved reports (bookmarks) and Lexicon schemas, whose paths carry the project id.

use mp_discovery::Discovery;
use serde_json::json;

use crate::support::client;

#[track_caller]
fn run<T>(script: &[(u16, &str)], call: impl AsyncFnOnce(Discovery) -> T) -> (T, Vec<String>) {
    let (client, transport) = client(script);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(call(Discovery::new(client)));
    (result, transport.urls())
}

#[test]
fn bookmarks_carry_project_id_and_query_origin_and_read_both_envelopes() {
    let answer = r#"{"results": [{"id": 7, "name": "WAU", "type": "insights", "project_id": 12345,
        "created": "2024-01-01T00:00:00", "modified": "2024-06-15T10:30:00", "dashboard_id": 200}]}"#;
    let (bookmarks, urls) = run(&[(200, answer)], async |discovery| {
        discovery.bookmarks(Some("insights")).await.unwrap()
    });
    assert_eq!(
        urls,
        [
            "https://mixpanel.com/api/app/projects/12345/bookmarks?v=2&type=insights&project_id=12345&query_origin=mp-rs"
        ]
    );
    let bookmark = &bookmarks.items()[0];
    assert_eq!(
        (
            bookmark.id,
            bookmark.name.as_str(),
            bookmark.bookmark_type.as_str()
        ),
        (7, "WAU", "insights")
    );
    assert_eq!(
        (bookmark.dashboard_id, bookmark.workspace_id),
        (Some(200), None)
    );

    let nested = r#"{"results": {"results": [{"id": 8, "name": "Funnel", "type": "funnels"}]}}"#;
    let (bookmarks, urls) = run(&[(200, nested)], async |discovery| {
        discovery.bookmarks(None).await.unwrap()
    });
    assert_eq!(
        urls,
        [
            "https://mixpanel.com/api/app/projects/12345/bookmarks?v=2&project_id=12345&query_origin=mp-rs"
        ]
    );
    assert_eq!(bookmarks.items()[0].name, "Funnel");
}

#[test]
fn lexicon_schemas_are_sorted_and_typed() {
    let answer = json!({"results": [
        {"entityType": "profile", "name": "Plan", "schemaJson": {"properties": {}}},
        {"entityType": "event", "name": "Purchase", "schemaJson": {
            "description": "User bought",
            "properties": {"amount": {"type": "number", "metadata": {"com.mixpanel": {"hidden": true, "tags": ["money"]}}},
                           "sku": {"description": "Stock unit"}},
            "metadata": {"com.mixpanel": {"displayName": "Purchase!", "$source": "api"}}}}
    ]})
    .to_string();
    let (schemas, urls) = run(&[(200, &answer)], async |discovery| {
        discovery.lexicon_schemas(None).await.unwrap()
    });
    assert_eq!(
        urls,
        ["https://mixpanel.com/api/app/projects/12345/schemas?query_origin=mp-rs"]
    );
    let order: Vec<(&str, &str)> = schemas
        .items()
        .iter()
        .map(|schema| (schema.entity_type.as_str(), schema.name.as_str()))
        .collect();
    assert_eq!(order, [("event", "Purchase"), ("profile", "Plan")]);
    let purchase = &schemas.items()[0].schema_json;
    assert_eq!(purchase.description.as_deref(), Some("User bought"));
    assert_eq!(purchase.properties["amount"].property_type, "number");
    let amount = purchase.properties["amount"].metadata.as_ref().unwrap();
    assert!(amount.hidden);
    assert_eq!(amount.tags, ["money"]);
    assert_eq!(purchase.properties["sku"].property_type, "string");
    let metadata = purchase.metadata.as_ref().unwrap();
    assert_eq!(
        (metadata.display_name.as_deref(), metadata.source.as_deref()),
        (Some("Purchase!"), Some("api"))
    );

    let (_, urls) = run(&[(200, r#"{"results": []}"#)], async |discovery| {
        discovery
            .lexicon_schemas(Some("custom event"))
            .await
            .unwrap()
    });
    assert_eq!(
        urls,
        ["https://mixpanel.com/api/app/projects/12345/schemas/custom%20event?query_origin=mp-rs"]
    );
}

#[test]
fn one_lexicon_schema_is_normalized_to_the_list_shape() {
    let (schema, urls) = run(
        &[(
            200,
            r#"{"status": "ok", "results": {"description": "d", "properties": {}}}"#,
        )],
        async |discovery| {
            discovery
                .lexicon_schema("event", "Added To Cart")
                .await
                .unwrap()
        },
    );
    assert_eq!(
        urls,
        [
            "https://mixpanel.com/api/app/projects/12345/schemas/event?entity_name=Added+To+Cart&query_origin=mp-rs"
        ]
    );
    assert_eq!(
        schema.raw(),
        &json!({"entityType": "event", "name": "Added To Cart", "schemaJson": {"description": "d", "properties": {}}})
    );
    assert_eq!(schema.schema_json.description.as_deref(), Some("d"));
}

/// Mixpanel's OpenAPI spec (and the sandbox) answer one schema in the list's shape.
#[test]
fn one_lexicon_schema_in_the_list_shape_is_read_too() {
    let (schema, _) = run(
        &[(
            200,
            r#"{"status": "ok", "results": [
                {"entityType": "event", "name": "Other", "schemaJson": {"description": "o", "properties": {}}},
                {"entityType": "event", "name": "Added To Cart", "schemaJson": {"description": "d", "properties": {}}}
            ]}"#,
        )],
        async |discovery| {
            discovery
                .lexicon_schema("event", "Added To Cart")
                .await
                .unwrap()
        },
    );
    assert_eq!(
        schema.raw(),
        &json!({"entityType": "event", "name": "Added To Cart", "schemaJson": {"description": "d", "properties": {}}})
    );
}
