//! Revoking the person's sessions in one provider: the user-wide call, or one session
//! at a time from a listing.
use futures::TryStreamExt;
use unisession_core::telemetry::track_retries;
use unisession_core::{
    DeviceScope, ErrorKind, ListQuery, Result, Revocation, Session, SessionProvider,
    SessionProviderExt, UserId,
};

use super::audit::{AuditOperation, AuditOutcome};
use super::{AuditRecord, Entry, Fleet, Revoked, Subject, fingerprint, revocation_name};

impl Fleet {
    /// The query that lists one user's sessions, if the provider can.
    pub(super) fn user_query(provider: &dyn SessionProvider, user: &UserId) -> Option<ListQuery> {
        let caps = provider.capabilities();
        if caps.list_user_sessions {
            Some(ListQuery::for_user(user.clone()))
        } else if caps.list_all_sessions {
            Some(ListQuery::new())
        } else {
            None
        }
    }

    pub(super) async fn user_sessions(
        &self,
        provider: &dyn SessionProvider,
        user: &UserId,
    ) -> Option<Result<Vec<Session>>> {
        let query = Self::user_query(provider, user)?;
        let listed = self
            .with_retries(|| {
                provider
                    .list_all(query.clone())
                    .try_filter(|s| std::future::ready(&s.user == user))
                    .try_collect::<Vec<_>>()
            })
            .await;
        Some(listed)
    }

    pub(super) async fn revoke(&self, entry: &Entry, subject: &Subject, user: &UserId) -> Revoked {
        let provider = entry.provider.as_ref();
        let caps = provider.capabilities().clone();
        let key = subject.key();
        if self.scope != DeviceScope::All && !caps.revoke_user_sessions_by_device {
            return Revoked::Unsupported(format!(
                "{} cannot limit a revocation to {} sessions",
                entry.name, self.scope
            ));
        }
        if caps.revoke_user_sessions {
            let (result, retries) = track_retries(
                self.with_retries(|| provider.revoke_user_sessions(user, self.scope)),
            )
            .await;
            let outcome = match &result {
                Ok(r) => revocation_name(r),
                Err(e) if e.kind() == ErrorKind::NotFound => AuditOutcome::NotFound,
                Err(_) => AuditOutcome::Failed,
            };
            let mut record = AuditRecord::new(
                &entry.name,
                AuditOperation::RevokeUserSessions,
                &key,
                outcome,
            );
            if let Err(e) = &result {
                if e.kind() == ErrorKind::NotFound {
                    record.evidence = Some(e.to_string());
                }
            }
            self.audit(record, Some(user), result.as_ref().err(), retries);
            return match result {
                Ok(r) => Revoked::Done(r),
                // The provider's word that nobody has this id (it checks, where the
                // server would answer success for anybody).
                Err(e) if e.kind() == ErrorKind::NotFound => Revoked::NoSuchUser(e.to_string()),
                Err(e) if e.kind() == ErrorKind::Unsupported => {
                    Revoked::Unsupported(e.message().to_owned())
                }
                Err(e) => Revoked::Failed(e),
            };
        }
        if !caps.revoke_session {
            return Revoked::Unsupported(format!(
                "{} can revoke neither a user's sessions nor single sessions",
                entry.name
            ));
        }
        // Revoke one by one what the provider lists for the user.
        let sessions = match self.user_sessions(provider, user).await {
            None => {
                return Revoked::Unsupported(format!(
                    "{} cannot revoke a user's sessions and cannot list them to revoke one by one",
                    entry.name
                ));
            }
            Some(Err(e)) => return Revoked::Failed(e),
            Some(Ok(sessions)) => sessions,
        };
        let mut count = 0;
        for session in sessions {
            let reference = session.to_ref();
            let (result, retries) =
                track_retries(self.with_retries(|| provider.revoke_session(&reference))).await;
            let outcome = match &result {
                Ok(r) => revocation_name(r),
                Err(_) => AuditOutcome::Failed,
            };
            let mut record =
                AuditRecord::new(&entry.name, AuditOperation::RevokeSession, &key, outcome);
            record.sessions.push(fingerprint(&session.id));
            self.audit(record, Some(user), result.as_ref().err(), retries);
            match result {
                Ok(Revocation::Revoked { .. }) => count += 1,
                Ok(_) => {}
                Err(e) => return Revoked::Failed(e),
            }
        }
        Revoked::Done(Revocation::revoked(count))
    }
}
