//! Test support: the providers' official OpenAPI specs, and checks of requests and
//! answers against them.
//!
//! The specs are read from `UNISESSION_SPECS_DIR` or from `../shared/specs` next to
//! the workspace. Where neither exists, a vendored excerpt under `specs/` (the same
//! operations and every schema they reference, extracted from the official files)
//! stands in; the test `excerpts_match_the_official_specs` keeps it in step.
#![warn(missing_docs)]

pub mod capture;
pub mod hostile;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

/// A provider whose spec we hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// ONLYOFFICE DocSpace (`docspace/openapi.yaml`, v3.7.0).
    DocSpace,
    /// Rocket.Chat (`rocketchat/*.yaml`, merged).
    RocketChat,
    /// Slack (`slack/slack_web_openapi_v2.json`, Swagger 2.0, base path `/api`).
    Slack,
}

impl Provider {
    fn name(self) -> &'static str {
        match self {
            Self::DocSpace => "docspace",
            Self::RocketChat => "rocketchat",
            Self::Slack => "slack",
        }
    }

    /// The paths this project uses, which the vendored excerpt keeps.
    pub fn used_paths(self) -> &'static [&'static str] {
        match self {
            Self::DocSpace => &[
                "/api/2.0/security/activeconnections",
                "/api/2.0/security/activeconnections/logout/{loginEventId}",
                "/api/2.0/security/activeconnections/logoutall/{userId}",
                "/api/2.0/security/activeconnections/logoutallchangepassword",
                "/api/2.0/security/activeconnections/logoutallexceptthis",
                "/api/2.0/people/email",
                "/api/2.0/people/{userid}",
                "/api/2.0/authentication",
            ],
            Self::RocketChat => &[
                "/api/v1/sessions/list",
                "/api/v1/sessions/list.all",
                "/api/v1/sessions/info",
                "/api/v1/sessions/info.admin",
                "/api/v1/sessions/logout.me",
                "/api/v1/sessions/logout",
                "/api/v1/users.logout",
                "/api/v1/users.removeOtherTokens",
                "/api/v1/users.info",
                "/api/v1/users.list",
                "/api/v1/me",
                "/api/v1/permissions.listAll",
                "/api/v1/login",
                "/api/v1/logout",
            ],
            Self::Slack => &[
                "/admin.users.session.invalidate",
                "/admin.users.session.reset",
                "/users.lookupByEmail",
                "/users.info",
                "/auth.test",
            ],
        }
    }
}

/// Where a spec was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The official files, in this directory.
    Official(PathBuf),
    /// The vendored excerpt.
    Vendored,
}

/// A loaded spec.
#[derive(Debug)]
pub struct Spec {
    provider: Provider,
    doc: Value,
    source: Source,
}

/// The directory holding the official specs, if present.
pub fn official_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("UNISESSION_SPECS_DIR") {
        // Pointing it at a missing directory forces the vendored excerpt.
        let dir = PathBuf::from(dir);
        return dir.is_dir().then_some(dir);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = workspace.join("../shared/specs");
    dir.is_dir().then(|| dir.canonicalize().unwrap_or(dir))
}

fn yaml_to_json(value: serde_norway::Value) -> Value {
    match value {
        serde_norway::Value::Null => Value::Null,
        serde_norway::Value::Bool(b) => Value::Bool(b),
        serde_norway::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                json!(n.as_f64().unwrap_or(0.0))
            }
        }
        serde_norway::Value::String(s) => Value::String(s),
        serde_norway::Value::Sequence(items) => {
            Value::Array(items.into_iter().map(yaml_to_json).collect())
        }
        serde_norway::Value::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        serde_norway::Value::String(s) => s,
                        other => serde_norway::to_string(&other)
                            .unwrap_or_default()
                            .trim()
                            .to_owned(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        serde_norway::Value::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

fn read_yaml(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let value: serde_norway::Value =
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    yaml_to_json(value)
}

fn merge_into(target: &mut Value, other: Value) {
    if let (Value::Object(target), Value::Object(other)) = (target, other) {
        for (key, value) in other {
            match target.get_mut(&key) {
                Some(existing @ Value::Object(_)) if value.is_object() => {
                    merge_into(existing, value)
                }
                Some(_) => {}
                None => {
                    target.insert(key, value);
                }
            }
        }
    }
}

fn load_official(provider: Provider, dir: &Path) -> Value {
    match provider {
        Provider::DocSpace => read_yaml(&dir.join("docspace/openapi.yaml")),
        Provider::RocketChat => {
            let mut doc = json!({});
            for file in [
                "settings.yaml",
                "authentication.yaml",
                "user-management.yaml",
            ] {
                merge_into(&mut doc, read_yaml(&dir.join("rocketchat").join(file)));
            }
            doc
        }
        Provider::Slack => {
            let path = dir.join("slack/slack_web_openapi_v2.json");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
        }
    }
}

fn vendored_path(provider: Provider) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("specs")
        .join(format!("{}.json", provider.name()))
}

impl Spec {
    /// The spec of `provider`, loaded once per process.
    pub fn get(provider: Provider) -> &'static Spec {
        static DOCSPACE: OnceLock<Spec> = OnceLock::new();
        static ROCKETCHAT: OnceLock<Spec> = OnceLock::new();
        static SLACK: OnceLock<Spec> = OnceLock::new();
        let cell = match provider {
            Provider::DocSpace => &DOCSPACE,
            Provider::RocketChat => &ROCKETCHAT,
            Provider::Slack => &SLACK,
        };
        cell.get_or_init(|| Spec::load(provider))
    }

    /// Loads the official spec, or the vendored excerpt where the official files are absent.
    pub fn load(provider: Provider) -> Spec {
        match official_dir() {
            Some(dir) => Spec {
                provider,
                doc: load_official(provider, &dir),
                source: Source::Official(dir),
            },
            None => Self::load_vendored(provider),
        }
    }

    /// Loads the vendored excerpt.
    pub fn load_vendored(provider: Provider) -> Spec {
        let path = vendored_path(provider);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let doc = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        Spec {
            provider,
            doc,
            source: Source::Vendored,
        }
    }

    /// Where it came from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The raw document.
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    fn is_swagger2(&self) -> bool {
        self.doc.get("swagger").is_some()
    }

    /// The base path (`/api` for Slack's Swagger 2.0 spec, empty otherwise).
    pub fn base_path(&self) -> &str {
        self.doc
            .get("basePath")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Resolves a local `$ref` (`#/components/...` or `#/definitions/...`).
    pub fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        let mut value = value;
        for _ in 0..32 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return value;
            };
            let Some(pointer) = reference.strip_prefix('#') else {
                return value;
            };
            match self.doc.pointer(pointer) {
                Some(target) => value = target,
                None => return value,
            }
        }
        value
    }

    /// The operation serving `method` on a concrete request `path` (percent-encoded,
    /// as sent), with the path template that matched.
    pub fn operation(&self, method: &str, path: &str) -> Option<Operation<'_>> {
        let method = method.to_ascii_lowercase();
        let paths = self.doc.get("paths")?.as_object()?;
        let concrete: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let base = self.base_path();
        for (template, item) in paths {
            if template.contains(' ') {
                continue;
            }
            let full = format!("{base}{template}");
            let parts: Vec<&str> = full.trim_end_matches('/').split('/').collect();
            if parts.len() != concrete.len() {
                continue;
            }
            let matches = parts
                .iter()
                .zip(&concrete)
                .all(|(t, c)| (t.starts_with('{') && t.ends_with('}') && !c.is_empty()) || t == c);
            if let (true, Some(op)) = (matches, item.get(&method)) {
                return Some(Operation {
                    spec: self,
                    template: full,
                    path_item: item,
                    op,
                });
            }
        }
        None
    }

    /// The JSON schema of the `status` answer of `method` `template`, if declared.
    pub fn response_schema(&self, method: &str, template: &str, status: u16) -> Option<&Value> {
        let base = self.base_path();
        let key = template.strip_prefix(base).unwrap_or(template);
        let op = self
            .doc
            .get("paths")?
            .get(key)?
            .get(method.to_ascii_lowercase())?;
        let response = self.resolve(op.get("responses")?.get(status.to_string())?);
        let schema = if self.is_swagger2() {
            response.get("schema")?
        } else {
            response
                .get("content")?
                .get("application/json")?
                .get("schema")?
        };
        Some(schema)
    }

    /// Validates `instance` against `schema`. `departures` lists property names whose
    /// values the server is known to send differently from the spec; they are not checked.
    pub fn validate(&self, schema: &Value, instance: &Value, departures: &[&str]) -> Vec<String> {
        let mut errors = Vec::new();
        self.validate_at(schema, instance, "$", departures, &mut errors, 0);
        errors
    }

    fn validate_at(
        &self,
        schema: &Value,
        value: &Value,
        at: &str,
        departures: &[&str],
        errors: &mut Vec<String>,
        depth: usize,
    ) {
        if depth > 64 {
            return;
        }
        let schema = self.resolve(schema);
        if value.is_null() && schema.get("nullable").and_then(Value::as_bool) == Some(true) {
            return;
        }
        for key in ["allOf"] {
            if let Some(parts) = schema.get(key).and_then(Value::as_array) {
                for part in parts {
                    self.validate_at(part, value, at, departures, errors, depth + 1);
                }
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(parts) = schema.get(key).and_then(Value::as_array) {
                let any = parts.iter().any(|part| {
                    let mut sub = Vec::new();
                    self.validate_at(part, value, at, departures, &mut sub, depth + 1);
                    sub.is_empty()
                });
                if !any {
                    errors.push(format!("{at}: matches none of {key}"));
                }
            }
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            if !options.contains(value) {
                errors.push(format!("{at}: {value} is not one of {options:?}"));
            }
        }
        let Some(kind) = schema.get("type").and_then(Value::as_str) else {
            return;
        };
        let ok = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: expected {kind}, got {value}"));
            return;
        }
        if kind == "integer" && schema.get("format").and_then(Value::as_str) == Some("int32") {
            if let Some(n) = value.as_i64() {
                if i32::try_from(n).is_err() {
                    errors.push(format!("{at}: {n} does not fit int32"));
                }
            }
        }
        if kind == "string" && schema.get("format").and_then(Value::as_str) == Some("uuid") {
            let text = value.as_str().unwrap_or_default();
            let hex: String = text.chars().filter(|c| *c != '-').collect();
            if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                errors.push(format!("{at}: {text:?} is not a uuid"));
            }
        }
        if let (Some(object), Value::Object(map)) =
            (schema.get("properties").and_then(Value::as_object), value)
        {
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for name in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(name) && !departures.contains(&name) {
                        errors.push(format!("{at}: missing required property {name}"));
                    }
                }
            }
            for (name, item) in map {
                if departures.contains(&name.as_str()) {
                    continue;
                }
                match object.get(name) {
                    Some(sub) => self.validate_at(
                        sub,
                        item,
                        &format!("{at}.{name}"),
                        departures,
                        errors,
                        depth + 1,
                    ),
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        errors.push(format!("{at}: unexpected property {name}"));
                    }
                    None => {}
                }
            }
        }
        if let (Some(items), Value::Array(list)) = (schema.get("items"), value) {
            for (i, item) in list.iter().enumerate() {
                self.validate_at(
                    items,
                    item,
                    &format!("{at}[{i}]"),
                    departures,
                    errors,
                    depth + 1,
                );
            }
        }
    }

    /// The excerpt of this spec: the used paths and everything they reference.
    pub fn excerpt(&self) -> Value {
        let mut out = Map::new();
        for key in ["openapi", "swagger", "info", "basePath", "host"] {
            if let Some(v) = self.doc.get(key) {
                out.insert(key.into(), v.clone());
            }
        }
        let mut paths = Map::new();
        let base = self.base_path();
        for path in self.provider.used_paths() {
            let key = path.strip_prefix(base).unwrap_or(path);
            if let Some(item) = self.doc.get("paths").and_then(|p| p.get(key)) {
                paths.insert(key.to_owned(), item.clone());
            }
        }
        let mut refs = BTreeSet::new();
        let mut queue: Vec<Value> = paths.values().cloned().collect();
        while let Some(value) = queue.pop() {
            collect_refs(&value, &mut |reference| {
                if refs.insert(reference.to_owned()) {
                    if let Some(target) = reference
                        .strip_prefix('#')
                        .and_then(|p| self.doc.pointer(p))
                    {
                        queue.push(target.clone());
                    }
                }
            });
        }
        out.insert("paths".into(), Value::Object(paths));
        let mut nested: BTreeMap<String, Value> = BTreeMap::new();
        for reference in refs {
            let Some(pointer) = reference.strip_prefix('#') else {
                continue;
            };
            let Some(target) = self.doc.pointer(pointer) else {
                continue;
            };
            let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
            let mut slot = nested
                .entry(parts[0].to_owned())
                .or_insert_with(|| json!({}));
            for part in &parts[1..parts.len() - 1] {
                slot = slot
                    .as_object_mut()
                    .expect("object")
                    .entry(part.to_string())
                    .or_insert_with(|| json!({}));
            }
            slot.as_object_mut().expect("object").insert(
                parts[parts.len() - 1].replace("~1", "/").replace("~0", "~"),
                target.clone(),
            );
        }
        for (key, value) in nested {
            out.insert(key, value);
        }
        Value::Object(out)
    }

    /// Where the vendored excerpt of this provider lives.
    pub fn vendored_path(&self) -> PathBuf {
        vendored_path(self.provider)
    }
}

fn collect_refs(value: &Value, found: &mut impl FnMut(&str)) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    if let Some(r) = v.as_str() {
                        found(r);
                    }
                } else {
                    collect_refs(v, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, found)),
        _ => {}
    }
}

/// One operation of a spec.
#[derive(Debug, Clone)]
pub struct Operation<'a> {
    spec: &'a Spec,
    /// The full path template (base path included), e.g. `/api/admin.users.session.reset`.
    pub template: String,
    path_item: &'a Value,
    op: &'a Value,
}

/// A request as a server received it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// HTTP method.
    pub method: String,
    /// Path, percent-encoded as sent.
    pub path: String,
    /// Raw query.
    pub query: Option<String>,
    /// Headers (any case).
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn query_value(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    fn body_fields(&self) -> Map<String, Value> {
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&self.body) {
            return map;
        }
        url::form_urlencoded::parse(self.body.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect()
    }
}

impl Operation<'_> {
    /// The declared parameters (path item's and operation's), resolved.
    fn parameters(&self) -> Vec<&Value> {
        let mut all = Vec::new();
        for source in [self.path_item, self.op] {
            if let Some(list) = source.get("parameters").and_then(Value::as_array) {
                all.extend(list.iter().map(|p| self.spec.resolve(p)));
            }
        }
        all
    }

    /// The operation id.
    pub fn operation_id(&self) -> Option<&str> {
        self.op.get("operationId").and_then(Value::as_str)
    }

    /// The path parameters of a concrete request of this operation, decoded:
    /// `(name, value)` for each `{name}` segment of the template.
    pub fn path_values(&self, request: &Request) -> Vec<(String, String)> {
        let concrete: Vec<&str> = request.path.trim_end_matches('/').split('/').collect();
        self.template
            .trim_end_matches('/')
            .split('/')
            .zip(concrete)
            .filter_map(|(template, value)| {
                let name = template.strip_prefix('{')?.strip_suffix('}')?;
                let decoded = percent_encoding::percent_decode_str(value)
                    .decode_utf8_lossy()
                    .into_owned();
                Some((name.to_owned(), decoded))
            })
            .collect()
    }

    /// Checks a concrete request against the operation: required parameters present
    /// in their place, path parameters of the declared type, a required body present.
    /// Returns what is wrong.
    pub fn check(&self, request: &Request) -> Vec<String> {
        let mut errors = Vec::new();
        let concrete: Vec<&str> = request.path.trim_end_matches('/').split('/').collect();
        let template: Vec<&str> = self.template.trim_end_matches('/').split('/').collect();
        let fields = self.spec.is_swagger2().then(|| request.body_fields());
        for param in self.parameters() {
            let name = param.get("name").and_then(Value::as_str).unwrap_or("");
            let place = param.get("in").and_then(Value::as_str).unwrap_or("");
            let required = param
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let schema = param.get("schema").unwrap_or(param);
            let kind = schema.get("type").and_then(Value::as_str);
            match place {
                "path" => {
                    let position = template.iter().position(|t| *t == format!("{{{name}}}"));
                    let Some(value) = position.and_then(|i| concrete.get(i)) else {
                        errors.push(format!("path parameter {name} missing"));
                        continue;
                    };
                    let decoded = percent_encoding::percent_decode_str(value)
                        .decode_utf8_lossy()
                        .into_owned();
                    if kind == Some("integer") && decoded.parse::<i64>().is_err() {
                        errors.push(format!(
                            "path parameter {name}={decoded:?} is not an integer"
                        ));
                    }
                    if schema.get("format").and_then(Value::as_str) == Some("uuid") {
                        let hex: String = decoded.chars().filter(|c| *c != '-').collect();
                        if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                            errors.push(format!("path parameter {name}={decoded:?} is not a uuid"));
                        }
                    }
                }
                "query" if required && request.query_value(name).is_none() => {
                    errors.push(format!("required query parameter {name} missing"));
                }
                "header" if required => {
                    // Slack's spec declares the token as a header parameter named `token`:
                    // it travels as `Authorization: Bearer`.
                    let present = if name == "token" {
                        request
                            .header("authorization")
                            .is_some_and(|v| v.starts_with("Bearer "))
                    } else {
                        request.header(name).is_some()
                    };
                    if !present {
                        errors.push(format!("required header {name} missing"));
                    }
                }
                "formData" if required => {
                    let fields = fields.as_ref().expect("swagger 2");
                    match fields.get(name) {
                        None => errors.push(format!("required form field {name} missing")),
                        Some(value) if kind == Some("integer") => {
                            let text = value
                                .as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| value.to_string());
                            if text.parse::<i64>().is_err() {
                                errors
                                    .push(format!("form field {name}={text:?} is not an integer"));
                            }
                        }
                        Some(_) => {}
                    }
                }
                _ => {}
            }
        }
        if let Some(body) = self.op.get("requestBody").map(|b| self.spec.resolve(b)) {
            let required = body
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if required && request.body.trim().is_empty() {
                errors.push("required request body missing".to_owned());
            }
            let schema = body
                .get("content")
                .and_then(|c| c.get("application/json"))
                .and_then(|c| c.get("schema"));
            if let (Some(schema), Ok(value)) =
                (schema, serde_json::from_str::<Value>(&request.body))
            {
                for problem in self.spec.validate(schema, &value, &[]) {
                    errors.push(format!("request body: {problem}"));
                }
            }
        }
        errors
    }
}

/// Every request in `requests` that matches no operation of `spec`, or breaks the
/// one it matches: `(method path, what is wrong)`.
pub fn nonconforming(spec: &Spec, requests: &[Request]) -> Vec<(String, Vec<String>)> {
    requests
        .iter()
        .filter_map(|request| {
            let label = format!("{} {}", request.method, request.path);
            match spec.operation(&request.method, &request.path) {
                None => Some((label, vec!["no operation of the spec matches".to_owned()])),
                Some(op) => {
                    let errors = op.check(request);
                    (!errors.is_empty()).then_some((label, errors))
                }
            }
        })
        .collect()
}
