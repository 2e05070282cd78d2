//! What every emulated provider offers through [`Emulator`](crate::Emulator): the
//! [`Served`] trait, the kind names, the per-provider configuration slots and the
//! registration each provider module makes.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use serde_json::{Map, Value};

use crate::common::{self, Running};
use crate::dataset::Dataset;
use crate::{EmulatorConfig, Faults, LoggedRequest, Misleading};

/// An emulated provider's kind name: `docspace`, `rocketchat`, `slack`. Each provider
/// module declares its constant (`ProviderKind::Slack`); [`ProviderKind::ALL`] lists
/// them in registration order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProviderKind(pub(crate) &'static str);

impl ProviderKind {
    /// Every emulated provider, in registration order.
    pub const ALL: [ProviderKind; crate::REGISTERED.len()] = {
        let mut all = [ProviderKind(""); crate::REGISTERED.len()];
        let mut i = 0;
        while i < all.len() {
            all[i] = crate::REGISTERED[i].kind;
            i += 1;
        }
        all
    };

    /// The kind name, as a `[providers.NAME]` table's `kind` spells it.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Debug for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProviderKind({})", self.0)
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::str::FromStr for ProviderKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProviderKind::ALL
            .into_iter()
            .find(|k| k.0 == s)
            .ok_or_else(|| {
                let names: Vec<&str> = ProviderKind::ALL.iter().map(|k| k.0).collect();
                format!("unknown provider {s:?}: expected {}", names.join(", "))
            })
    }
}

/// How a client connects to a running emulated provider as its administrator: what a
/// `[providers.NAME]` table for it holds. Secrets are kept apart, to be written to
/// files (`unisession emulate --write-config`) or handed over in memory.
#[derive(Clone)]
#[non_exhaustive]
pub struct Connection {
    /// The kind.
    pub kind: ProviderKind,
    /// The settings of the table, none of them secret (`base_url`, `auth`, …).
    pub settings: Map<String, Value>,
    /// The secrets, by key (`token` for `token_env`/`token_file`). The emulators'
    /// own test credentials, which protect nothing.
    pub secrets: Vec<(&'static str, String)>,
    /// The rate-limit time scale a client should pace at (1 for real time).
    pub time_scale: f64,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("kind", &self.kind)
            .field("settings", &self.settings)
            .field(
                "secrets",
                &self.secrets.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            )
            .field("time_scale", &self.time_scale)
            .finish()
    }
}

/// A running emulated provider, whichever it is.
pub trait Served: Send + Sync + fmt::Debug + 'static {
    /// Its kind.
    fn kind(&self) -> ProviderKind;
    /// The address it listens on.
    fn addr(&self) -> SocketAddr;
    /// The base URL a client uses.
    fn base_url(&self) -> String;
    /// How its administrator connects.
    fn connection(&self) -> Connection;
    /// Lines describing it for people: base URL and the test credentials.
    fn summary(&self) -> String;
    /// Every logged request, oldest first (bounded by the log capacity).
    fn requests(&self) -> Vec<LoggedRequest>;
    /// How many requests arrived in all (control-surface calls excluded).
    fn request_count(&self) -> u64;
    /// Empties the request log (the count goes on).
    fn clear_requests(&self);
    /// The faults in force.
    fn faults(&self) -> Faults;
    /// Switches faults at run time.
    fn set_faults(&self, faults: Faults);
    /// The misleading behaviours in force.
    fn misleading(&self) -> Misleading;
    /// Switches misleading behaviours at run time.
    fn set_misleading(&self, misleading: Misleading);
    /// A JSON snapshot of the state, as `GET /__unisession/state` serves it.
    fn snapshot(&self) -> Value;
    /// The typed handle, to downcast (`Emulator::get`).
    fn as_any(&self) -> &dyn Any;
}

/// The typed handle of one provider: its state and its running server.
pub(crate) struct Handle<S> {
    pub(crate) state: Arc<S>,
    pub(crate) running: Arc<Running>,
}

impl<S> Clone for Handle<S> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            running: self.running.clone(),
        }
    }
}

impl<S: common::Provider> Handle<S> {
    pub(crate) fn addr(&self) -> SocketAddr {
        self.running.addr
    }
    pub(crate) fn requests(&self) -> Vec<LoggedRequest> {
        self.state.common().requests()
    }
    pub(crate) fn request_count(&self) -> u64 {
        self.state.common().request_count()
    }
    pub(crate) fn clear_requests(&self) {
        self.state.common().clear_log()
    }
    pub(crate) fn faults(&self) -> Faults {
        self.state.common().faults()
    }
    pub(crate) fn set_faults(&self, faults: Faults) {
        self.state.common().set_faults(faults)
    }
    pub(crate) fn misleading(&self) -> Misleading {
        self.state.common().misleading()
    }
    pub(crate) fn set_misleading(&self, misleading: Misleading) {
        self.state.common().set_misleading(misleading)
    }
    pub(crate) fn snapshot(&self) -> Value {
        self.state.snapshot()
    }
}

/// Implements [`Served`] for a typed handle wrapping a [`Handle`] as `.0`, given its
/// kind, base URL, connection and summary as inherent methods.
macro_rules! served {
    ($handle:ty) => {
        impl $crate::served::Served for $handle {
            fn kind(&self) -> $crate::ProviderKind {
                Self::KIND
            }
            fn addr(&self) -> std::net::SocketAddr {
                self.0.addr()
            }
            fn base_url(&self) -> String {
                <$handle>::base_url(self)
            }
            fn connection(&self) -> $crate::Connection {
                <$handle>::connection(self)
            }
            fn summary(&self) -> String {
                <$handle>::summary(self)
            }
            fn requests(&self) -> Vec<$crate::LoggedRequest> {
                self.0.requests()
            }
            fn request_count(&self) -> u64 {
                self.0.request_count()
            }
            fn clear_requests(&self) {
                self.0.clear_requests()
            }
            fn faults(&self) -> $crate::Faults {
                self.0.faults()
            }
            fn set_faults(&self, faults: $crate::Faults) {
                self.0.set_faults(faults)
            }
            fn misleading(&self) -> $crate::Misleading {
                self.0.misleading()
            }
            fn set_misleading(&self, misleading: $crate::Misleading) {
                self.0.set_misleading(misleading)
            }
            fn snapshot(&self) -> serde_json::Value {
                self.0.snapshot()
            }
            fn as_any(&self) -> &dyn std::any::Any {
                self
            }
        }

        impl $handle {
            /// The address the server listens on.
            pub fn addr(&self) -> std::net::SocketAddr {
                self.0.addr()
            }
            /// Every logged request, oldest first (bounded by the log capacity).
            pub fn requests(&self) -> Vec<$crate::LoggedRequest> {
                self.0.requests()
            }
            /// How many requests arrived in all (control-surface calls excluded).
            pub fn request_count(&self) -> u64 {
                self.0.request_count()
            }
            /// Empties the request log (the count goes on).
            pub fn clear_requests(&self) {
                self.0.clear_requests()
            }
            /// The faults in force.
            pub fn faults(&self) -> $crate::Faults {
                self.0.faults()
            }
            /// Switches faults at run time.
            pub fn set_faults(&self, faults: $crate::Faults) {
                self.0.set_faults(faults)
            }
            /// The misleading behaviours in force.
            pub fn misleading(&self) -> $crate::Misleading {
                self.0.misleading()
            }
            /// Switches misleading behaviours at run time.
            pub fn set_misleading(&self, misleading: $crate::Misleading) {
                self.0.set_misleading(misleading)
            }
            /// A JSON snapshot of the state, as `GET /__unisession/state` serves it.
            pub fn snapshot(&self) -> serde_json::Value {
                self.0.snapshot()
            }
        }
    };
}
pub(crate) use served;

/// A provider's switches, kept in [`EmulatorConfig`] by kind.
pub(crate) trait ProviderConfig: Any + fmt::Debug + Send + Sync {
    fn clone_box(&self) -> Box<dyn ProviderConfig>;
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any + fmt::Debug + Clone + Send + Sync> ProviderConfig for T {
    fn clone_box(&self) -> Box<dyn ProviderConfig> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The per-provider switches of an [`EmulatorConfig`].
#[derive(Debug, Default)]
pub(crate) struct Switches(BTreeMap<ProviderKind, Box<dyn ProviderConfig>>);

impl Clone for Switches {
    fn clone(&self) -> Self {
        Self(
            self.0
                .iter()
                .map(|(k, v)| (*k, (**v).clone_box()))
                .collect(),
        )
    }
}

impl Switches {
    pub(crate) fn set<C: ProviderConfig>(&mut self, kind: ProviderKind, config: C) {
        self.0.insert(kind, Box::new(config));
    }

    /// The switches of `kind`, or their defaults.
    pub(crate) fn get<C: ProviderConfig + Default + Clone>(&self, kind: ProviderKind) -> C {
        self.0
            .get(&kind)
            .and_then(|c| (**c).as_any().downcast_ref::<C>())
            .cloned()
            .unwrap_or_default()
    }
}

/// What starting a provider builds before it serves: its router, and how to wrap the
/// running server into its handle.
pub(crate) struct Pending {
    pub(crate) router: Router,
    pub(crate) misleading: Box<dyn FnOnce(Misleading) + Send>,
    pub(crate) finish: Box<dyn FnOnce(Arc<Running>) -> Box<dyn Served> + Send>,
}

/// One line per provider in [`crate::REGISTERED`]: its kind and how to start it.
pub(crate) struct Registration {
    pub(crate) kind: ProviderKind,
    pub(crate) start: fn(&Dataset, &EmulatorConfig, Faults) -> Pending,
}

/// [`Pending`] for a provider state `S` and its typed handle `H`.
pub(crate) fn pending<S: common::Provider, H: Served>(
    state: S,
    router: fn(Arc<S>) -> Router,
    handle: fn(Handle<S>) -> H,
) -> Pending {
    let state = Arc::new(state);
    let for_misleading = state.clone();
    Pending {
        router: router(state.clone()),
        misleading: Box::new(move |m| for_misleading.common().set_misleading(m)),
        finish: Box::new(move |running| Box::new(handle(Handle { state, running }))),
    }
}
