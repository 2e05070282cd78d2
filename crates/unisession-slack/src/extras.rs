//! What Slack offers beyond the trait: session settings (`getSettings`,
//! `setSettings`, `clearSettings`) and `auth.test`.

use std::time::Duration;

use unisession_core::{Error, Result, UserId};

use crate::config::Tier;
use crate::provider::{Identity, MAX_DURATION, MIN_DURATION, SlackProvider, check_user, user_ids};
use crate::wire;

/// A user's session settings as `admin.users.session.getSettings` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserSessionSettings {
    /// The user.
    pub user: UserId,
    /// How long a session lasts.
    pub duration: Option<Duration>,
    /// Whether closing the desktop app or browser ends the session.
    pub desktop_app_browser_quit: Option<bool>,
}

/// The answer of [`SlackProvider::get_settings`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SessionSettingsReport {
    /// Users with settings of their own (users without active sessions are omitted by Slack).
    pub settings: Vec<UserSessionSettings>,
    /// Users with no settings of their own.
    pub no_settings_applied: Vec<UserId>,
}

/// Settings to apply with [`SlackProvider::set_settings`]: at least one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SessionSettings {
    /// Session duration, from 8 hours to 10 years (Slack's bounds, whole seconds).
    pub duration: Option<Duration>,
    /// End the session when the desktop app or browser window closes.
    pub desktop_app_browser_quit: Option<bool>,
}

impl SessionSettings {
    /// A session duration.
    pub fn duration(duration: Duration) -> Self {
        Self {
            duration: Some(duration),
            desktop_app_browser_quit: None,
        }
    }

    /// Also sets whether closing the client ends the session.
    pub fn with_desktop_app_browser_quit(mut self, quit: bool) -> Self {
        self.desktop_app_browser_quit = Some(quit);
        self
    }
}

impl SlackProvider {
    /// Session settings of `users` (`admin.users.session.getSettings`, Tier 4).
    pub async fn get_settings(&self, users: &[UserId]) -> Result<SessionSettingsReport> {
        let mut report = SessionSettingsReport::default();
        for chunk in users.chunks(self.bulk_chunk) {
            chunk
                .iter()
                .try_for_each(check_user)
                .map_err(|e| self.fail(e, None))?;
            let form = [("user_ids", user_ids(chunk))];
            let (_, settings): (_, wire::Settings) = self
                .call_ok("admin.users.session.getSettings", Tier::Four, &form)
                .await
                .map_err(|e| self.fail(e, None))?;
            report
                .settings
                .extend(
                    settings
                        .session_settings
                        .into_iter()
                        .map(|s| UserSessionSettings {
                            user: UserId::new(s.user_id),
                            duration: s.duration.map(Duration::from_secs),
                            desktop_app_browser_quit: s.desktop_app_browser_quit,
                        }),
                );
            report
                .no_settings_applied
                .extend(settings.no_settings_applied.into_iter().map(UserId::new));
        }
        Ok(report)
    }

    /// Applies session settings to `users` (`admin.users.session.setSettings`, Tier 4).
    /// The duration must lie between 8 hours and 10 years; at least one setting is needed.
    pub async fn set_settings(&self, users: &[UserId], settings: SessionSettings) -> Result<()> {
        if settings.duration.is_none() && settings.desktop_app_browser_quit.is_none() {
            return Err(self.fail(
                Error::invalid_input("set at least one session setting"),
                None,
            ));
        }
        let duration = settings.duration.map(|d| d.as_secs());
        if let Some(secs) = duration {
            if !(MIN_DURATION..=MAX_DURATION).contains(&secs) {
                return Err(self.fail(
                    Error::invalid_input(format!("a session lasts from {MIN_DURATION} s (8 hours) to {MAX_DURATION} s (10 years), not {secs} s")),
                    None,
                ));
            }
        }
        for chunk in users.chunks(self.bulk_chunk) {
            chunk
                .iter()
                .try_for_each(check_user)
                .map_err(|e| self.fail(e, None))?;
            let mut form = vec![("user_ids", user_ids(chunk))];
            if let Some(secs) = duration {
                form.push(("duration", secs.to_string()));
            }
            if let Some(quit) = settings.desktop_app_browser_quit {
                form.push(("desktop_app_browser_quit", quit.to_string()));
            }
            self.call_ok::<serde_json::Value>("admin.users.session.setSettings", Tier::Four, &form)
                .await
                .map_err(|e| self.fail(e, None))?;
        }
        Ok(())
    }

    /// Removes the session settings of `users` (`admin.users.session.clearSettings`, Tier 4).
    pub async fn clear_settings(&self, users: &[UserId]) -> Result<()> {
        for chunk in users.chunks(self.bulk_chunk) {
            chunk
                .iter()
                .try_for_each(check_user)
                .map_err(|e| self.fail(e, None))?;
            let form = [("user_ids", user_ids(chunk))];
            self.call_ok::<serde_json::Value>(
                "admin.users.session.clearSettings",
                Tier::Four,
                &form,
            )
            .await
            .map_err(|e| self.fail(e, None))?;
        }
        Ok(())
    }

    /// Who the token belongs to (`auth.test`): a harmless call to check a credential.
    pub async fn whoami(&self) -> Result<Identity> {
        let (_, auth): (_, wire::AuthTest) = self
            .call_ok("auth.test", Tier::Four, &[])
            .await
            .map_err(|e| self.fail(e, None))?;
        Ok(Identity {
            user_id: auth.user_id,
            user: auth.user,
            team_id: auth.team_id,
            enterprise_id: auth.enterprise_id,
            url: auth.url,
        })
    }
}
