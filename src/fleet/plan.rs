//! [`Fleet::plan`]: the dry run.
use unisession_core::{DeviceScope, Error, ErrorKind, UserRef};

use super::audit::{AuditOperation, AuditOutcome};
use super::{
    AuditRecord, Entry, ErrorSummary, Fleet, Plan, ProviderPlan, Resolution, Resolved, Subject,
    fingerprint,
};

impl Fleet {
    /// A dry run for one person: resolves, lists what would be revoked, and says what
    /// cannot be done. Nothing is revoked.
    pub async fn plan(&self, subject: &Subject) -> Plan {
        let plans = futures::future::join_all(
            self.entries
                .iter()
                .map(|entry| self.plan_in(entry, subject)),
        )
        .await;
        Plan {
            subject: subject.key(),
            providers: plans,
        }
    }

    pub(super) async fn plan_in(&self, entry: &Entry, subject: &Subject) -> ProviderPlan {
        let provider = entry.provider.as_ref();
        let caps = provider.capabilities().clone();
        let mut plan = ProviderPlan {
            provider: entry.name.clone(),
            resolution: Resolution::NotFound {
                evidence: String::new(),
            },
            sessions: None,
            method: None,
            cannot: Vec::new(),
            step: if caps.identity_provider { 1 } else { 2 },
        };
        let user = match tokio::time::timeout(self.deadline, self.resolve(entry, subject)).await {
            Ok(Resolved::User(id)) => id,
            Ok(Resolved::NotFound(evidence)) => {
                plan.resolution = Resolution::NotFound { evidence };
                return plan;
            }
            Ok(Resolved::Unsupported(reason)) => {
                plan.cannot.push(reason.clone());
                plan.resolution = Resolution::Unsupported { reason };
                return plan;
            }
            Ok(Resolved::Failed(e)) => {
                plan.resolution = Resolution::Failed {
                    error: ErrorSummary::from(&e),
                };
                return plan;
            }
            Err(_) => {
                let e = Error::new(
                    ErrorKind::Timeout,
                    "the lookup did not finish within the deadline",
                );
                plan.resolution = Resolution::Failed {
                    error: ErrorSummary::from(&e),
                };
                return plan;
            }
        };
        plan.resolution = Resolution::Found {
            user: UserRef::new(user.clone()),
        };
        match tokio::time::timeout(self.deadline, self.user_sessions(provider, &user)).await {
            Ok(Some(Ok(sessions))) => {
                let mut record = AuditRecord::new(&entry.name, AuditOperation::ListSessions, &subject.key(), AuditOutcome::Listed);
                record.sessions = sessions.iter().map(|s| fingerprint(&s.id)).collect();
                self.audit(record, Some(&user), None, 0);
                plan.sessions = Some(sessions);
            }
            Ok(Some(Err(e))) => plan.cannot.push(format!("listing the sessions failed: {e}")),
            Ok(None) if caps.confirms_revocation => plan.cannot.push(format!(
                "{} cannot list this user's sessions: they cannot be shown beforehand; afterwards its own record of the revocation is read",
                entry.name
            )),
            Ok(None) => plan.cannot.push(format!(
                "{} cannot list this user's sessions with this credential: they cannot be shown beforehand nor verified afterwards",
                entry.name
            )),
            Err(_) => plan.cannot.push("listing the sessions did not finish within the deadline".to_owned()),
        }
        // The same choice `revoke` makes, the scope included.
        plan.method = if self.scope != DeviceScope::All && !caps.revoke_user_sessions_by_device {
            plan.cannot.push(format!(
                "{} cannot limit a revocation to {} sessions",
                entry.name, self.scope
            ));
            None
        } else if caps.revoke_user_sessions && self.scope != DeviceScope::All {
            plan.cannot.push(format!(
                "only {} sessions will be revoked (the list shows every session); the others stay, so nothing will be verified",
                self.scope
            ));
            Some(format!("revoke_user_sessions ({} sessions)", self.scope))
        } else if caps.revoke_user_sessions {
            Some(match &caps.revocation_covers {
                Some(covers) => format!("revoke_user_sessions: {covers}"),
                None => "revoke_user_sessions".to_owned(),
            })
        } else if caps.revoke_session && caps.can_verify_user() {
            Some("revoke_session for each listed session".to_owned())
        } else {
            plan.cannot.push(format!(
                "{} can revoke neither a user's sessions nor single sessions of that user",
                entry.name
            ));
            None
        };
        plan
    }
}
