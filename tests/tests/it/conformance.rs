//! Runs the vendored conformance corpus and holds the ratchet: no capability's pass counts may fall below those
//! recorded in `tests/conformance/ratchet.json`. When a change makes more vectors pass, raise the file.

use std::collections::BTreeMap;

use mp_tests::conformance::{self, RunOptions};
use serde_json::Value;

#[test]
fn canonical_selftest_passes() {
    let path = conformance::default_vectors_dir().join("canonical-selftest.json");
    let failures = conformance::run_canonical_selftest(&path).unwrap();
    assert!(
        failures.is_empty(),
        "canonical self-test failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn vendored_corpus_does_not_fall_below_the_ratchet() {
    let report = conformance::run(&RunOptions::default()).unwrap();
    eprintln!("{}", report.to_text());
    let ratchet_path = conformance::default_ratchet_path();
    let ratchet: Value =
        serde_json::from_str(&std::fs::read_to_string(&ratchet_path).unwrap()).unwrap();
    let ratchet = ratchet
        .as_object()
        .expect("the ratchet is an object of capabilities");
    let by_capability = report.by_capability();
    let mut drops = Vec::new();
    let mut raises = Vec::new();
    for (capability, recorded) in ratchet {
        let counts = by_capability.get(capability).copied().unwrap_or_default();
        for (key, actual) in [
            ("passed_wire", counts.passed_wire),
            ("passed_full", counts.passed_full),
        ] {
            let recorded = recorded.get(key).and_then(Value::as_u64).unwrap_or(0) as usize;
            if actual < recorded {
                drops.push(format!(
                    "{capability}.{key}: {actual} < {recorded} recorded"
                ));
            } else if actual > recorded {
                raises.push(format!(
                    "{capability}.{key}: {actual} > {recorded} recorded"
                ));
            }
        }
    }
    let unrecorded: Vec<&String> = by_capability
        .keys()
        .filter(|capability| !ratchet.contains_key(*capability))
        .collect();
    if !raises.is_empty() || !unrecorded.is_empty() {
        let counts: BTreeMap<&String, Value> = by_capability
            .iter()
            .map(|(capability, counts)| {
                (capability, serde_json::json!({"passed_wire": counts.passed_wire, "passed_full": counts.passed_full}))
            })
            .collect();
        eprintln!(
            "note: the corpus now passes more than {} records ({}); raise it to:\n{}",
            ratchet_path.display(),
            raises.join(", "),
            serde_json::to_string_pretty(&counts).unwrap()
        );
    }
    assert!(
        drops.is_empty(),
        "conformance regressed below the ratchet:\n{}",
        drops.join("\n")
    );
}

#[test]
fn compat_vectors_all_pass() {
    let options = RunOptions {
        filter: Some("compat/*".to_owned()),
        ..RunOptions::default()
    };
    let report = conformance::run(&options).unwrap();
    assert_eq!(report.total(), 8);
    assert!(report.failures().is_empty(), "{}", report.to_text());
}

/// The runner must be able to fail: each case mutates a passing vendored vector and states the verdict the runner
/// must reach and a fragment of its reason.
mod runner_detects {
    use mp_tests::conformance::{self, RunOptions, Verdict};
    use serde_json::{Value, json};

    const GET_EVENTS: &str =
        "discovery/api_client.get_events/test_api_client-testdiscovery-test_get_events";
    const GET_EVENTS_401: &str = "discovery/api_client.get_events/test_api_client-testauthenticatedrequests-test_authentication_error_on_401";
    const PAGINATE_3_PAGES: &str = "pagination/pagination.paginate_all/test_pagination-testpaginateall-test_follows_next_cursor_until_none";

    #[derive(Debug, PartialEq, Eq)]
    enum Expect {
        Unsupported,
        WireFails,
        FullFails,
    }

    /// Runs `base` mutated by `mutate` and checks the verdict, and that some reason contains `fragment`.
    #[track_caller]
    fn check(base: &str, mutate: impl FnOnce(&mut Value), expect: Expect, fragment: &str) {
        let all =
            conformance::load_vectors(&conformance::default_vectors_dir(), Some(base)).unwrap();
        let mut vector = all.into_iter().next().expect("base vector exists").json;
        mutate(&mut vector);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mutated.jsonl"), format!("{vector}\n")).unwrap();
        let report = conformance::run(&RunOptions {
            vectors: dir.path().to_owned(),
            filter: None,
        })
        .unwrap();
        let verdict = &report.outcomes[0].verdict;
        let (actual, reasons) = match verdict {
            Verdict::Unsupported(reason) => (Expect::Unsupported, vec![reason.clone()]),
            Verdict::Failed(reasons) => (Expect::WireFails, reasons.clone()),
            Verdict::PassedWireOnly(reasons) => (Expect::FullFails, reasons.clone()),
            Verdict::PassedFull => panic!("the mutated vector passed"),
        };
        assert_eq!(actual, expect, "{reasons:#?}");
        assert!(
            reasons.iter().any(|reason| reason.contains(fragment)),
            "no reason contains {fragment:?}: {reasons:#?}"
        );
    }

    fn request(vector: &mut Value) -> &mut Value {
        vector
            .pointer_mut("/expect/interactions/0/request")
            .unwrap()
    }

    #[test]
    fn a_parameter_sent_differently() {
        let mutate = |v: &mut Value| request(v)["params"]["limit"] = json!("5001");
        check(
            GET_EVENTS,
            mutate,
            Expect::WireFails,
            "interaction 0: `params` differs",
        );
    }

    #[test]
    fn a_query_origin_the_recording_does_not_have() {
        let mutate = |v: &mut Value| {
            request(v)["params"]
                .as_object_mut()
                .unwrap()
                .shift_remove("query_origin");
        };
        check(GET_EVENTS, mutate, Expect::WireFails, "`params` differs");
    }

    #[test]
    fn a_wrong_authorization_header() {
        let mutate = |v: &mut Value| {
            request(v)["headers_contain"]["authorization"]["pattern"] = json!("^Basic\\ eA==$")
        };
        check(
            GET_EVENTS,
            mutate,
            Expect::WireFails,
            "does not match pattern",
        );
    }

    #[test]
    fn a_missing_listed_header() {
        let mutate = |v: &mut Value| request(v)["headers_contain"]["x-tenant"] = json!("acme");
        check(
            GET_EVENTS,
            mutate,
            Expect::WireFails,
            "header `x-tenant` missing",
        );
    }

    #[test]
    fn a_recorded_interaction_never_fired() {
        let mutate = |v: &mut Value| {
            let interactions = v
                .pointer_mut("/expect/interactions")
                .unwrap()
                .as_array_mut()
                .unwrap();
            interactions.push(interactions[0].clone());
        };
        check(GET_EVENTS, mutate, Expect::WireFails, "never fired: [1]");
    }

    #[test]
    fn an_extra_request() {
        let mutate = |v: &mut Value| {
            v.pointer_mut("/expect/interactions")
                .unwrap()
                .as_array_mut()
                .unwrap()
                .pop();
        };
        check(PAGINATE_3_PAGES, mutate, Expect::WireFails, "extra request");
    }

    #[test]
    fn a_value_where_an_error_was_recorded() {
        let mutate = |v: &mut Value| {
            let expect = v["expect"].as_object_mut().unwrap();
            expect.shift_remove("result");
            expect.insert(
                "error".to_owned(),
                json!({"class": "QueryError", "code": "QUERY_FAILED"}),
            );
        };
        check(GET_EVENTS, mutate, Expect::WireFails, "expected error");
    }

    #[test]
    fn a_different_result() {
        let mutate = |v: &mut Value| v["expect"]["result"] = json!(["event1", "event3", "event2"]);
        check(
            GET_EVENTS,
            mutate,
            Expect::FullFails,
            "[full] result differs",
        );
    }

    #[test]
    fn a_different_error_class() {
        let mutate = |v: &mut Value| v["expect"]["error"]["class"] = json!("QueryError");
        check(
            GET_EVENTS_401,
            mutate,
            Expect::FullFails,
            "[full] error differs",
        );
    }

    #[test]
    fn error_details_with_a_typed_parameter_changed() {
        let mutate = |v: &mut Value| {
            v["expect"]["error"]["details_contain"]["request_params"]["limit"] = json!("5000")
        };
        check(
            GET_EVENTS_401,
            mutate,
            Expect::FullFails,
            "[full] error differs",
        );
    }

    #[test]
    fn error_details_without_query_origin() {
        let mutate = |v: &mut Value| {
            let params = v
                .pointer_mut("/expect/error/details_contain/request_params")
                .unwrap();
            params.as_object_mut().unwrap().shift_remove("query_origin");
        };
        check(
            GET_EVENTS_401,
            mutate,
            Expect::FullFails,
            "[full] error differs",
        );
    }

    #[test]
    fn an_unbound_api_is_unsupported() {
        let mutate = |v: &mut Value| v["call"]["api"] = json!("api_client.not_an_api");
        check(GET_EVENTS, mutate, Expect::Unsupported, "no binding");
    }

    #[test]
    fn an_unbound_argument_is_unsupported() {
        let mutate = |v: &mut Value| v["call"]["input"] = json!({"limit": 10, "bogus": true});
        check(
            GET_EVENTS,
            mutate,
            Expect::Unsupported,
            "`bogus` is not bound",
        );
    }

    #[test]
    fn an_unbound_setup_api_is_unsupported() {
        let mutate =
            |v: &mut Value| v["call"]["setup"] = json!([{"api": "api_client.me", "input": {}}]);
        check(GET_EVENTS, mutate, Expect::Unsupported, "setup: no binding");
    }

    #[test]
    fn a_transport_error_we_cannot_raise_is_unsupported() {
        let mutate = |v: &mut Value| {
            v["expect"]["interactions"][0]["response"] =
                json!({"transport_error": "ProxyError", "message": "x"});
        };
        check(GET_EVENTS, mutate, Expect::Unsupported, "`ProxyError`");
    }

    #[test]
    fn duplicate_ids_are_a_corpus_error() {
        let all = conformance::load_vectors(&conformance::default_vectors_dir(), Some(GET_EVENTS))
            .unwrap();
        let line = all[0].json.to_string();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.jsonl"), format!("{line}\n")).unwrap();
        std::fs::write(dir.path().join("b.jsonl"), format!("{line}\n")).unwrap();
        let error = conformance::run(&RunOptions {
            vectors: dir.path().to_owned(),
            filter: None,
        })
        .unwrap_err();
        assert!(error.to_string().contains("duplicate vector id"), "{error}");
    }
}
