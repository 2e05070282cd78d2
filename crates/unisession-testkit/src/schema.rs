//! Checking a JSON value against a schema of a spec: the subset of OpenAPI 3.0 and
//! Swagger 2.0 the providers' specs use (`$ref`, `allOf`, `oneOf`, `anyOf`, `enum`,
//! `type`, `nullable`, `int32`, `uuid`, `required`, `properties`,
//! `additionalProperties: false`, `items`), and properties the server is known to send
//! otherwise left out. A JSON Schema crate would not know OpenAPI 3.0's `nullable` nor
//! these departures, and would add a dependency tree for little.

use serde_json::Value;

use crate::Spec;

impl Spec {
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
}
