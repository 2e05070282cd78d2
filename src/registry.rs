//! The provider registry: every built-in adapter, by the `kind` of its
//! `[providers.NAME]` table.
//!
//! Each adapter crate describes itself with one
//! [`AdapterKind`] (its kind name, how it is built from its
//! settings, its credential check, a configuration template); this list is the only
//! place that names them. The command, `config check`, `config init` and the
//! emulated fleet all go through it.
//!
//! ```
//! let kinds: Vec<&str> = unisession::registry::kinds().collect();
//! assert!(kinds.contains(&"slack"));
//! assert!(unisession::registry::find("jira").is_none());
//! ```

use crate::http::AdapterKind;

/// Every built-in adapter compiled in (one line per provider, behind its feature).
const BUILT_IN: &[AdapterKind] = &[
    #[cfg(feature = "docspace")]
    unisession_docspace::KIND,
    #[cfg(feature = "rocketchat")]
    unisession_rocketchat::KIND,
    #[cfg(feature = "slack")]
    unisession_slack::KIND,
    #[cfg(feature = "okta")]
    unisession_okta::KIND,
    #[cfg(feature = "entra")]
    unisession_entra::KIND,
    #[cfg(feature = "google")]
    unisession_google::KIND,
];

/// Every registered kind, in registration order.
pub fn all() -> &'static [AdapterKind] {
    BUILT_IN
}

/// The registered kind named `kind`.
pub fn find(kind: &str) -> Option<&'static AdapterKind> {
    BUILT_IN.iter().find(|k| k.kind == kind)
}

/// The names of the registered kinds.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|k| k.kind)
}
