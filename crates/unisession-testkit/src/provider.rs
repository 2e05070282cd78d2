//! The providers whose specs the tests hold: each registers its spec files and the
//! operations the project uses, one entry in [`REGISTERED`].

use std::path::Path;

use serde_json::{Value, json};

/// A provider whose spec we hold, by name. Each has a constant (`Provider::Slack`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Provider(&'static str);

/// Where a provider's spec lives and what the project uses of it.
pub(crate) struct Registration {
    /// The name, also the vendored excerpt's file name.
    pub(crate) name: &'static str,
    /// The official files, under the specs directory; several are merged.
    pub(crate) files: &'static [&'static str],
    /// The paths this project uses, which the vendored excerpt keeps.
    pub(crate) used: &'static [&'static str],
}

/// One entry per provider.
pub(crate) const REGISTERED: [Registration; 6] = [
    Registration {
        name: "docspace",
        files: &["docspace/openapi.yaml"],
        used: &[
            "/api/2.0/security/activeconnections",
            "/api/2.0/security/activeconnections/logout/{loginEventId}",
            "/api/2.0/security/activeconnections/logoutall/{userId}",
            "/api/2.0/security/activeconnections/logoutallchangepassword",
            "/api/2.0/security/activeconnections/logoutallexceptthis",
            "/api/2.0/people/email",
            "/api/2.0/people/filter",
            "/api/2.0/people/{userid}",
            "/api/2.0/authentication",
        ],
    },
    Registration {
        name: "rocketchat",
        files: &[
            "rocketchat/settings.yaml",
            "rocketchat/authentication.yaml",
            "rocketchat/user-management.yaml",
        ],
        used: &[
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
    },
    Registration {
        name: "slack",
        files: &["slack/slack_web_openapi_v2.json"],
        used: &[
            "/admin.users.session.invalidate",
            "/admin.users.session.reset",
            "/users.lookupByEmail",
            "/users.info",
            "/auth.test",
        ],
    },
    Registration {
        name: "okta",
        files: &[
            "okta/management-oneOfInheritance.yaml",
            "okta/oauth-oneOfInheritance.yaml",
        ],
        used: &[
            "/api/v1/users",
            "/api/v1/users/{id}",
            "/api/v1/users/{userId}/sessions",
            "/api/v1/sessions/{sessionId}",
            "/api/v1/logs",
            "/oauth2/v1/token",
        ],
    },
    Registration {
        name: "entra",
        files: &["entra/graph-v1.0-sessions.openapi.yaml"],
        used: &[
            "/users",
            "/users/{user-id}",
            "/users/{user-id}/microsoft.graph.revokeSignInSessions",
        ],
    },
    Registration {
        name: "google",
        files: &["google/admin.directory_v1.json"],
        used: &[
            "/admin/directory/v1/users/{userKey}",
            "/admin/directory/v1/users/{userKey}/signOut",
            "/admin/directory/v1/users/{userKey}/tokens",
            "/admin/directory/v1/users/{userKey}/tokens/{clientId}",
            "/admin/directory/v1/users/{userKey}/asps",
            "/admin/directory/v1/users/{userKey}/asps/{codeId}",
        ],
    },
];

#[allow(non_upper_case_globals)]
impl Provider {
    /// ONLYOFFICE DocSpace (`docspace/openapi.yaml`, v3.7.0).
    pub const DocSpace: Provider = Provider("docspace");
    /// Rocket.Chat (`rocketchat/*.yaml`, merged).
    pub const RocketChat: Provider = Provider("rocketchat");
    /// Slack (`slack/slack_web_openapi_v2.json`, Swagger 2.0, base path `/api`).
    pub const Slack: Provider = Provider("slack");
    /// Okta (`okta/management-oneOfInheritance.yaml` and `okta/oauth-oneOfInheritance.yaml`,
    /// release 2026.06.3, merged).
    pub const Okta: Provider = Provider("okta");
    /// Microsoft Graph v1.0 for Entra ID (`entra/graph-v1.0-sessions.openapi.yaml`, a
    /// verbatim excerpt of the official description; base path `/v1.0`).
    pub const Entra: Provider = Provider("entra");
    /// Google Workspace's Directory API (`google/admin.directory_v1.json`, a
    /// discovery document read as OpenAPI: its methods' paths, parameters and schemas).
    pub const Google: Provider = Provider("google");

    /// Every registered provider.
    pub fn all() -> impl Iterator<Item = Provider> {
        REGISTERED.iter().map(|r| Provider(r.name))
    }

    pub(crate) fn index(self) -> usize {
        REGISTERED
            .iter()
            .position(|r| r.name == self.0)
            .unwrap_or_else(|| panic!("{} is not a registered provider", self.0))
    }

    pub(crate) fn registration(self) -> &'static Registration {
        &REGISTERED[self.index()]
    }

    /// The provider's name.
    pub fn name(self) -> &'static str {
        self.0
    }

    /// The paths this project uses, which the vendored excerpt keeps.
    pub fn used_paths(self) -> &'static [&'static str] {
        self.registration().used
    }

    /// The official spec, its files merged, from the specs directory `dir`.
    pub(crate) fn load_official(self, dir: &Path) -> Value {
        let mut doc = json!({});
        for file in self.registration().files {
            merge_into(&mut doc, read(&dir.join(file)));
        }
        doc
    }
}

/// A Google discovery document as the OpenAPI shape the checks read: each method's
/// `path` and `httpMethod` as an operation, its parameters (location, required, type,
/// enum), its request schema, and the schemas with their references made pointers.
fn discovery_to_openapi(doc: &Value) -> Value {
    fn pointers(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get_mut("$ref") {
                    if !target.starts_with('#') {
                        *target = format!("#/components/schemas/{target}");
                    }
                }
                map.values_mut().for_each(pointers);
            }
            Value::Array(items) => items.iter_mut().for_each(pointers),
            _ => {}
        }
    }
    fn walk(resources: &Value, paths: &mut serde_json::Map<String, Value>) {
        let Some(resources) = resources.as_object() else {
            return;
        };
        for resource in resources.values() {
            for method in resource
                .get("methods")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|m| m.values())
            {
                let (Some(path), Some(verb)) = (
                    method.get("path").and_then(Value::as_str),
                    method.get("httpMethod").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let parameters: Vec<Value> = method
                    .get("parameters")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(name, p)| {
                        let mut schema =
                            json!({"type": p.get("type").cloned().unwrap_or(json!("string"))});
                        if let Some(values) = p.get("enum") {
                            schema["enum"] = values.clone();
                        }
                        json!({
                            "name": name,
                            "in": p.get("location").cloned().unwrap_or(json!("query")),
                            "required": p.get("required").cloned().unwrap_or(json!(false)),
                            "schema": schema,
                        })
                    })
                    .collect();
                let mut operation = json!({
                    "operationId": method.get("id").cloned().unwrap_or(Value::Null),
                    "parameters": parameters,
                    "responses": {"200": {"description": "success"}},
                });
                if let Some(request) = method.get("request").and_then(|r| r.get("$ref")) {
                    operation["requestBody"] = json!({
                        "content": {"application/json": {"schema": {"$ref": request}}}
                    });
                }
                let entry = paths.entry(format!("/{path}")).or_insert_with(|| json!({}));
                entry[verb.to_lowercase()] = operation;
            }
            if let Some(sub) = resource.get("resources") {
                walk(sub, paths);
            }
        }
    }
    let mut paths = serde_json::Map::new();
    walk(&doc["resources"], &mut paths);
    let mut out = json!({
        "openapi": "3.0.0",
        "info": {"title": doc.get("title").cloned().unwrap_or(Value::Null), "version": doc.get("revision").cloned().unwrap_or(Value::Null)},
        "servers": [{"url": doc.get("rootUrl").cloned().unwrap_or(Value::Null)}],
        "paths": Value::Object(paths),
        "components": {"schemas": doc.get("schemas").cloned().unwrap_or(json!({}))},
    });
    pointers(&mut out);
    out
}

fn read(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "json") {
        let doc: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        if doc.get("discoveryVersion").is_some() {
            return discovery_to_openapi(&doc);
        }
        return doc;
    }
    let value: serde_norway::Value =
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    yaml_to_json(value)
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
