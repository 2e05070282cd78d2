//! [`Spec`]: a provider's OpenAPI document, official or the vendored excerpt.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::Provider;
use crate::request::Operation;

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

fn vendored_path(provider: Provider) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("specs")
        .join(format!("{}.json", provider.name()))
}

impl Spec {
    /// The spec of `provider`, loaded once per process.
    pub fn get(provider: Provider) -> &'static Spec {
        static SPECS: [OnceLock<Spec>; crate::provider::REGISTERED.len()] =
            [const { OnceLock::new() }; crate::provider::REGISTERED.len()];
        SPECS[provider.index()].get_or_init(|| Spec::load(provider))
    }

    /// Loads the official spec, or the vendored excerpt where the official files are absent.
    pub fn load(provider: Provider) -> Spec {
        match official_dir() {
            Some(dir) => Spec {
                provider,
                doc: provider.load_official(&dir),
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

    pub(crate) fn is_swagger2(&self) -> bool {
        self.doc.get("swagger").is_some()
    }

    /// The base path (`/api` for Slack's Swagger 2.0 spec, empty otherwise).
    pub fn base_path(&self) -> &str {
        if let Some(base) = self.doc.get("basePath").and_then(Value::as_str) {
            return base;
        }
        // OpenAPI 3: the path of the first server (`https://graph.microsoft.com/v1.0/`).
        self.doc
            .get("servers")
            .and_then(|s| s.get(0))
            .and_then(|s| s.get("url"))
            .and_then(Value::as_str)
            .and_then(|url| url.split_once("://"))
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .map_or("", |path| path.trim_end_matches('/'))
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
    /// The excerpt of this spec: the used paths and everything they reference.
    pub fn excerpt(&self) -> Value {
        let mut out = Map::new();
        for key in ["openapi", "swagger", "info", "servers", "basePath", "host"] {
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
