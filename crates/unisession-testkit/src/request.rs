//! [`Request`]s as the emulators logged them, and their check against an
//! [`Operation`] of a spec.

use serde_json::{Map, Value};

use crate::Spec;

/// One operation of a spec.
#[derive(Debug, Clone)]
pub struct Operation<'a> {
    pub(crate) spec: &'a Spec,
    /// The full path template (base path included), e.g. `/api/admin.users.session.reset`.
    pub template: String,
    pub(crate) path_item: &'a Value,
    pub(crate) op: &'a Value,
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

impl From<unisession_emulator::LoggedRequest> for Request {
    fn from(logged: unisession_emulator::LoggedRequest) -> Self {
        Self {
            method: logged.method,
            path: logged.path,
            query: logged.query,
            headers: logged.headers,
            body: logged.body,
        }
    }
}

impl From<&unisession_emulator::LoggedRequest> for Request {
    fn from(logged: &unisession_emulator::LoggedRequest) -> Self {
        logged.clone().into()
    }
}
