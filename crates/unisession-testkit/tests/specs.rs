//! The spec reader itself: loading, matching, checking and validating.

use serde_json::json;
use unisession_testkit::{Provider, Request, Source, Spec, nonconforming};

fn put(path: &str) -> Request {
    Request {
        method: "PUT".into(),
        path: path.into(),
        ..Request::default()
    }
}

#[test]
fn excerpts_match_the_official_specs() {
    for provider in Provider::all() {
        let spec = Spec::load(provider);
        if !matches!(spec.source(), Source::Official(_)) {
            eprintln!(
                "official specs not found: the vendored excerpt is used and cannot be compared"
            );
            return;
        }
        let excerpt = spec.excerpt();
        let path = spec.vendored_path();
        if std::env::var_os("UNISESSION_UPDATE_EXCERPTS").is_some() {
            std::fs::write(
                &path,
                serde_json::to_string_pretty(&excerpt).unwrap() + "\n",
            )
            .unwrap();
        }
        let vendored = Spec::load_vendored(provider);
        assert_eq!(
            vendored.doc(),
            &excerpt,
            "{} is stale: rerun with UNISESSION_UPDATE_EXCERPTS=1",
            path.display()
        );
        for used in provider.used_paths() {
            let full = format!("{}{used}", vendored.base_path());
            let found = ["get", "put", "post", "delete"]
                .iter()
                .any(|m| vendored.operation(m, &full).is_some());
            assert!(found, "{used} is missing from the {provider:?} spec");
        }
    }
}

#[test]
fn the_vendored_excerpts_serve_when_the_official_specs_are_absent() {
    for provider in Provider::all() {
        let spec = Spec::load_vendored(provider);
        for used in provider.used_paths() {
            let full = format!("{}{used}", spec.base_path());
            assert!(
                ["get", "put", "post", "delete"]
                    .iter()
                    .any(|m| spec.operation(m, &full).is_some()),
                "{used}"
            );
        }
    }
}

#[test]
fn docspace_path_parameters_are_typed() {
    let spec = Spec::get(Provider::DocSpace);
    let op = spec
        .operation("PUT", "/api/2.0/security/activeconnections/logout/48211")
        .unwrap();
    assert_eq!(op.operation_id(), Some("logOutActiveConnection"));
    assert!(
        op.check(&put("/api/2.0/security/activeconnections/logout/48211"))
            .is_empty()
    );
    let errors = op.check(&put("/api/2.0/security/activeconnections/logout/abc"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    let errors = nonconforming(
        spec,
        &[put(
            "/api/2.0/security/activeconnections/logoutall/not-a-guid",
        )],
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    let ok = nonconforming(
        spec,
        &[put(
            "/api/2.0/security/activeconnections/logoutall/aae1e103-bca5-9fa1-ba8c-42058b4abf28",
        )],
    );
    assert!(ok.is_empty(), "{ok:?}");
    assert_eq!(
        nonconforming(spec, &[put("/api/2.0/security/nowhere")]).len(),
        1
    );
}

#[test]
fn slack_formdata_and_token_header_are_checked() {
    let spec = Spec::get(Provider::Slack);
    let mut request = Request {
        method: "POST".into(),
        path: "/api/admin.users.session.reset".into(),
        headers: vec![("authorization".into(), "Bearer xoxp-1".into())],
        body: "user_id=W123".into(),
        ..Request::default()
    };
    assert!(nonconforming(spec, std::slice::from_ref(&request)).is_empty());
    request.body = "{\"user_id\":\"W123\",\"mobile_only\":true}".into();
    assert!(nonconforming(spec, std::slice::from_ref(&request)).is_empty());
    request.headers.clear();
    let problems = nonconforming(spec, std::slice::from_ref(&request));
    assert_eq!(problems[0].1, ["required header token missing"]);
}

#[test]
fn validation_finds_type_and_required_errors_and_skips_departures() {
    let spec = Spec::get(Provider::DocSpace);
    let schema = spec
        .response_schema("get", "/api/2.0/security/activeconnections", 200)
        .expect("declared");
    let good = json!({"response": {"loginEvent": 1, "items": [{"id": 5, "tenantId": 1, "userId": "aae1e103-bca5-9fa1-ba8c-42058b4abf28", "date": "2025-03-10T14:22:31.0000000+01:00"}]}, "count": 1, "status": 0, "statusCode": 200});
    assert!(
        !spec.validate(schema, &good, &[]).is_empty(),
        "date as a string departs from the spec"
    );
    assert_eq!(
        spec.validate(schema, &good, &["date"]),
        Vec::<String>::new()
    );
    let bad = json!({"response": {"items": [{"id": "conn1", "tenantId": 1}]}, "status": 0});
    let errors = spec.validate(schema, &bad, &["date"]);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("missing required property loginEvent")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("expected integer")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("missing required property userId")),
        "{errors:?}"
    );
}
