//! Resolving the person in one provider: explicit ids, or a lookup by email whose
//! answer must carry that email (the identity echo, checked here again whatever the
//! provider checked).
use unisession_core::telemetry::track_retries;
use unisession_core::{Email, Error, ErrorKind, UserLookup};

use super::audit::{AuditOperation, AuditOutcome};
use super::{AuditRecord, Entry, Fleet, Resolved, Subject};

impl Fleet {
    pub(super) async fn resolve(&self, entry: &Entry, subject: &Subject) -> Resolved {
        if let Some(id) = subject.ids.get(&entry.name) {
            return Resolved::User(id.clone());
        }
        let Some(address) = &subject.email else {
            return Resolved::Unsupported(format!(
                "no email and no {} user id was given",
                entry.name
            ));
        };
        let key = subject.key();
        let record =
            |outcome| AuditRecord::new(&entry.name, AuditOperation::FindUser, &key, outcome);
        let email = match Email::parse(address) {
            Ok(email) => email,
            Err(e) => {
                let e = e.with_provider(entry.name.clone());
                self.audit(record(AuditOutcome::Failed), None, Some(&e), 0);
                return Resolved::Failed(e);
            }
        };
        if !entry.provider.capabilities().find_user_by_email {
            return Resolved::Unsupported(format!(
                "{} cannot look users up by email; give the person's {} user id",
                entry.name, entry.name
            ));
        }
        let (found, retries) =
            track_retries(self.with_retries(|| entry.provider.find_user(&email))).await;
        // Defence in depth: whatever the provider checked, nothing is revoked for a
        // record that does not carry the email asked for.
        let found = found.and_then(|lookup| match lookup {
            UserLookup::Found(user) => {
                let answered_by = format!("{}'s lookup", entry.name);
                email
                    .confirm(user.email.as_deref(), &answered_by, &user.id)
                    .map_err(|e| e.with_provider(entry.name.clone()))?;
                Ok(UserLookup::Found(user))
            }
            other => Ok(other),
        });
        match found {
            Ok(UserLookup::Found(user)) => {
                self.audit(record(AuditOutcome::Found), Some(&user.id), None, retries);
                Resolved::User(user.id)
            }
            Ok(UserLookup::NotFound { evidence }) => {
                let mut audit = record(AuditOutcome::NotFound);
                audit.evidence = Some(evidence.clone());
                self.audit(audit, None, None, retries);
                Resolved::NotFound(evidence)
            }
            Ok(_) => {
                let e = Error::new(
                    ErrorKind::Provider,
                    "the lookup gave an answer this version does not know",
                )
                .with_provider(entry.name.clone());
                self.audit(record(AuditOutcome::Failed), None, Some(&e), retries);
                Resolved::Failed(e)
            }
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                self.audit(record(AuditOutcome::Unsupported), None, Some(&e), retries);
                Resolved::Unsupported(e.message().to_owned())
            }
            Err(e) => {
                self.audit(record(AuditOutcome::Failed), None, Some(&e), retries);
                Resolved::Failed(e)
            }
        }
    }
}
