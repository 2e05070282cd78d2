//! A corpus of hostile identifiers and emails: path traversal, encoded separators,
//! CR/LF and NUL, 10,000-character strings, Unicode confusables and controls, JSON,
//! query and header injection. Each payload comes alone and behind the prefixes of
//! real-looking ids, so that validation by prefix or length is exercised too.

use serde_json::Value;

use crate::{Provider, Request, Spec, nonconforming};

/// The payloads. Some contain NUL, which no command line can carry: see
/// [`fits_argv`].
pub fn payloads() -> Vec<String> {
    let mut payloads: Vec<String> = [
        // Path traversal and separators, raw and encoded.
        "../",
        "../../etc/passwd",
        "..%2F..%2Fadmin",
        "%2e%2e%2f",
        "%2E%2E/",
        "..\\..\\",
        "/",
        "//",
        "/api/v1/users.logout",
        "%2F",
        "%252F",
        "a/b",
        "a%2Fb",
        ";",
        "a;b=c",
        // Query and fragment injection.
        "?",
        "?user_id=W1",
        "&user_id=W1",
        "&session_id=1",
        "#",
        "#frag",
        "=",
        // NUL and line breaks, raw and encoded.
        "\0",
        "%00",
        "a\0b",
        "\r\n",
        "\n",
        "\r",
        "%0d%0a",
        "\r\nX-Injected: 1",
        "\nSet-Cookie: a=b",
        "%0d%0aX-Injected:%201",
        "\u{85}",
        "\u{2028}",
        // JSON, NoSQL, SQL, template and markup injection.
        "\"",
        "\\",
        "\",\"userId\":\"admin",
        "{\"$ne\":null}",
        "[]",
        "{}",
        "null",
        "'; DROP TABLE users; --",
        "<script>alert(1)</script>",
        "${jndi:ldap://x/a}",
        "{{7*7}}",
        "%s%s%s%n",
        // Regular-expression metacharacters (a server may search with them).
        "*",
        ".*",
        "^.*$",
        "(a+)+$",
        "[a-z]",
        // Blank and dots.
        "",
        " ",
        "\t",
        ".",
        "..",
        " W1 ",
        // Unicode: confusables, full-width, direction overrides, invisibles, case folds.
        "W\u{0406}",
        "\u{0410}dmin",
        "\u{FF35}\u{FF11}",
        "\u{202E}gnp.exe",
        "a\u{200B}b",
        "\u{FEFF}",
        "\u{1F980}",
        "\u{0130}",
        "\u{00DF}",
        "\u{FB03}",
        "e\u{0301}",
        "\u{FFFD}",
        "\u{E000}",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    payloads.push("x".repeat(10_000));
    payloads.push("%".repeat(300));
    payloads.push("../".repeat(200));
    payloads.push("\u{1F980}".repeat(2_500));
    payloads
}

/// Ids: each payload alone and behind a prefix shaped like a real id of each
/// provider (Slack, Rocket.Chat, DocSpace) or a plain number.
pub fn ids() -> Vec<String> {
    let prefixes = [
        "",
        "W0123ABCD",
        "rbAXPnMktTFbNpwtJ",
        "aae1e103-bca5-9fa1-ba8c-42058b4abf28",
        "123",
    ];
    let payloads = payloads();
    let mut ids: Vec<String> = prefixes
        .iter()
        .flat_map(|prefix| payloads.iter().map(move |p| format!("{prefix}{p}")))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Emails: payloads in the local part, in the domain, around a whole address, and
/// alone.
pub fn emails() -> Vec<String> {
    let payloads = payloads();
    let mut emails: Vec<String> = payloads
        .iter()
        .flat_map(|p| {
            [
                format!("{p}@corp.example"),
                format!("alice{p}@corp.example"),
                format!("alice@corp.example{p}"),
                format!("alice@{p}.example"),
                p.clone(),
            ]
        })
        .collect();
    emails.sort();
    emails.dedup();
    emails
}

/// The values a request carries from the caller's input, decoded: the query
/// parameters and form fields named for an email or a user or session id, and the
/// same in a JSON body.
pub fn carried(request: &Request) -> Vec<(String, String)> {
    const INPUT: [&str; 6] = [
        "email",
        "user_id",
        "userId",
        "user",
        "sessionId",
        "session_id",
    ];
    let mut pairs: Vec<(String, String)> = Vec::new();
    let form = |text: &str| -> Vec<(String, String)> {
        url::form_urlencoded::parse(text.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    };
    if let Some(query) = &request.query {
        pairs.extend(form(query));
    }
    let content_type = request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        pairs.extend(form(&request.body));
    } else if let Ok(Value::Object(body)) = serde_json::from_str(&request.body) {
        pairs.extend(
            body.into_iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned()))),
        );
    }
    pairs.retain(|(k, _)| INPUT.contains(&k.as_str()));
    pairs
}

/// Where the official Slack spec (2020) no longer describes what Slack serves (see
/// the research notes): `admin.users.session.list` came later, `users.lookupByEmail`
/// and `users.info` are described for GET while every Web API method takes a POST
/// form, and
/// `invalidate` takes `user_id` where the spec still requires `team_id`. Those
/// requests are checked field by field in [`carried`] instead.
pub fn known_departure(provider: Provider, label: &str, why: &[String]) -> bool {
    provider == Provider::Slack
        && match label {
            "POST /api/admin.users.session.list"
            | "POST /api/users.lookupByEmail"
            | "POST /api/users.info" => why == ["no operation of the spec matches"],
            "POST /api/admin.users.session.invalidate" => {
                why == ["required form field team_id missing"]
            }
            _ => false,
        }
}

/// What went wrong with `requests` sent to `provider` while hostile input was passed,
/// and how many input values they carried. Wrong: a path that escaped its route (a
/// `.` or `..` segment or a NUL once decoded); a value carried in the query, form,
/// JSON body or a path parameter that `intact(field, value)` does not recognise as an
/// input given; a request the provider's spec does not describe, or describes
/// otherwise (the [known departures](known_departure) aside).
pub fn check_requests(
    provider: Provider,
    requests: &[Request],
    intact: impl Fn(&str, &str) -> bool,
) -> (Vec<String>, usize) {
    let spec = Spec::get(provider);
    let mut problems = Vec::new();
    let mut carried_values = 0;
    for request in requests {
        let label = format!("{provider:?} {} {}", request.method, request.path);
        let path = percent_encoding::percent_decode_str(&request.path).decode_utf8_lossy();
        if path.contains("/../") || path.contains("/./") || path.contains('\0') {
            problems.push(format!("{label}: a path escaped its route"));
        }
        let in_path = spec
            .operation(&request.method, &request.path)
            .map(|op| op.path_values(request))
            .unwrap_or_default();
        for (field, value) in carried(request).into_iter().chain(in_path) {
            carried_values += 1;
            if !intact(&field, &value) {
                problems.push(format!("{label}: {field}={value:?} is no input as given"));
            }
        }
    }
    problems.extend(
        nonconforming(spec, requests)
            .into_iter()
            .filter(|(label, why)| !known_departure(provider, label, why))
            .map(|(label, why)| format!("{provider:?} {label}: {}", why.join("; "))),
    );
    (problems, carried_values)
}

/// Whether a string can travel as a command-line argument (no NUL).
pub fn fits_argv(s: &str) -> bool {
    !s.contains('\0')
}
