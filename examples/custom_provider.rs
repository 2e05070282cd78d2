//! A fourth provider, written here in a few lines, takes part in the fleet beside
//! DocSpace, Rocket.Chat and Slack.
//!
//! ```sh
//! cargo run --example custom_provider --features emulator
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use unisession::emulated::{self, EmulatedOptions};
use unisession::emulator::{Emulator, EmulatorConfig};
use unisession::fleet::Subject;
use unisession::{
    Capabilities, DeviceScope, Email, Error, ErrorKind, ListQuery, Page, Result, Revocation,
    Session, SessionId, SessionProvider, SessionRef, UserId, UserLookup, UserRef, async_trait,
};

/// An internal wiki that keeps its sessions in a table: user → session ids.
#[derive(Debug)]
struct Wiki {
    capabilities: Capabilities,
    sessions: Mutex<BTreeMap<String, Vec<String>>>,
}

impl Wiki {
    fn new() -> Self {
        let mut capabilities = Capabilities::none();
        capabilities.list_all_sessions = true;
        capabilities.list_user_sessions = true;
        capabilities.revoke_session = true;
        capabilities.revoke_user_sessions = true;
        capabilities.find_user_by_email = true;
        Self {
            capabilities,
            sessions: Mutex::new(BTreeMap::new()),
        }
    }

    fn login(&self, email: &str) {
        let mut sessions = self.sessions.lock().unwrap();
        let list = sessions.entry(email.to_owned()).or_default();
        list.push(format!("wiki-{}-{}", email, list.len() + 1));
    }
}

impl std::fmt::Display for Wiki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("wiki")
    }
}

#[async_trait]
impl SessionProvider for Wiki {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn list_sessions(&self, query: &ListQuery) -> Result<Page<Session>> {
        let sessions = self.sessions.lock().unwrap();
        let items = sessions
            .iter()
            .filter(|(user, _)| {
                query
                    .user
                    .as_ref()
                    .is_none_or(|u| u.as_str() == user.as_str())
            })
            .flat_map(|(user, ids)| {
                ids.iter().map(move |id| {
                    Session::new(
                        SessionId::new(id.clone()),
                        UserId::new(user.clone()),
                        "wiki",
                    )
                })
            })
            .collect();
        Ok(Page::last(items))
    }

    async fn revoke_session(&self, session: &SessionRef) -> Result<Revocation> {
        let mut sessions = self.sessions.lock().unwrap();
        for ids in sessions.values_mut() {
            if let Some(at) = ids.iter().position(|id| id == session.id.as_str()) {
                ids.remove(at);
                return Ok(Revocation::revoked(1));
            }
        }
        Ok(Revocation::AlreadyGone)
    }

    async fn revoke_user_sessions(&self, user: &UserId, _scope: DeviceScope) -> Result<Revocation> {
        // An id nobody has is NotFound, never "revoked": the fleet reports it as such.
        let removed = self
            .sessions
            .lock()
            .unwrap()
            .remove(user.as_str())
            .ok_or_else(|| {
                Error::new(ErrorKind::NotFound, format!("the wiki has no user {user}"))
            })?;
        Ok(Revocation::revoked(removed.len() as u64))
    }

    async fn find_user(&self, email: &Email) -> Result<UserLookup> {
        // The wiki keys users by their address, so the record carries the email asked
        // for; "not found" is the wiki's own table saying so.
        let known = self.sessions.lock().unwrap().contains_key(email.as_str());
        Ok(if known {
            UserLookup::Found(UserRef::new(email.as_str()).with_email(email.as_str()))
        } else {
            UserLookup::not_found("the wiki's session table has no such user")
        })
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let emulator = Emulator::start(EmulatorConfig::new().users(5))
        .await
        .expect("emulators start");
    let person = emulator.people()[2].clone();
    let wiki = Arc::new(Wiki::new());
    wiki.login(&person.email);
    wiki.login(&person.email);

    let fleet = emulated::fleet(&emulator, &EmulatedOptions::default())?
        .provider("wiki", wiki.clone())
        .build()?;
    let report = fleet.offboard(&Subject::email(&person.email)).await;
    for provider in &report.providers {
        println!(
            "{:<11} {:<15} {:?}",
            provider.provider,
            provider.outcome.name(),
            provider.outcome.verification()
        );
    }
    assert!(
        wiki.sessions.lock().unwrap().is_empty(),
        "the wiki took part like any provider"
    );
    println!("complete: {}", report.is_complete());
    Ok(())
}
