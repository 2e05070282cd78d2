//! The server's state: seeding, routes, and what the handle reads and changes.

use super::*;

impl RocketChat {
    pub(crate) fn new(
        dataset: &Dataset,
        config: &RocketChatConfig,
        faults: Faults,
        log_capacity: usize,
    ) -> Self {
        let seed = dataset.config().seed;
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x0C4A7);
        let mut data = Data {
            config: config.clone(),
            users: Vec::with_capacity(dataset.people().len()),
            by_id: HashMap::new(),
            tokens: HashMap::new(),
            sessions: Vec::new(),
            by_session_id: HashMap::new(),
            listing: None,
            stale: Vec::new(),
            outbox: Vec::new(),
            rng: fastrand::Rng::with_seed(seed ^ 0x5E5510),
            session_seq: 0,
        };
        let totp_secret = {
            let mut bytes = [0u8; 20];
            rng.fill(&mut bytes);
            totp_rs::Secret::from(bytes.to_vec()).to_base32()
        };
        for person in dataset.people() {
            let index = data.users.len() as u32;
            data.users.push(User {
                id: person.rocketchat_id.clone(),
                username: person.username.clone(),
                name: person.display_name(),
                email: person.email.clone(),
                password: person.password.clone(),
                admin: person.admin,
                totp_secret: None,
                email_two_factor: false,
                email_code: None,
                resume_order: Vec::new(),
                active: true,
                kind: "user",
            });
            data.by_id.insert(person.rocketchat_id.clone(), index);
            for seeded in dataset.sessions(person, PROVIDER_STREAM) {
                let token = data.new_token_string();
                data.add_session(
                    index,
                    &token,
                    seeded.device,
                    &seeded.ip,
                    seeded.login_at.timestamp_millis(),
                );
            }
        }
        // Some clients reconnected: an older doc shares the login token of a newer one.
        let reconnects: Vec<u32> = (0..data.sessions.len() as u32).step_by(5).collect();
        for doc in reconnects {
            let original = data.sessions[doc as usize].clone();
            data.push_doc(SessionDoc {
                login_at: original.login_at - 3_600_000,
                ..original
            });
        }
        match config.admin_two_factor {
            TwoFactorMethod::Totp => data.users[0].totp_secret = Some(totp_secret.clone()),
            TwoFactorMethod::Email => data.users[0].email_two_factor = true,
            TwoFactorMethod::Password => {}
        }
        let admin_token = data.new_token_string();
        let admin_session = data.add_session(
            0,
            &admin_token,
            &DEVICES[0],
            "203.0.113.10",
            crate::dataset::epoch().timestamp_millis(),
        );
        let admin_pat = data.new_token_string();
        data.tokens.insert(
            hash_token(&admin_pat),
            TokenMeta {
                user: 0,
                personal: true,
                bypass_two_factor: true,
                authorized_until: None,
                authorized_for: 0,
            },
        );
        let member = u32::from(data.users.len() > 1);
        let member_token = data.new_token_string();
        let member_session = data.add_session(
            member,
            &member_token,
            &DEVICES[1],
            "198.51.100.20",
            crate::dataset::epoch().timestamp_millis(),
        );
        let credentials = RocketChatCredentials {
            admin_user_id: data.users[0].id.clone(),
            admin_token,
            admin_session_id: admin_session,
            admin_pat,
            admin_username: data.users[0].username.clone(),
            admin_password: data.users[0].password.clone(),
            admin_totp_secret: totp_secret,
            member_user_id: data.users[member as usize].id.clone(),
            member_token,
            member_session_id: member_session,
        };
        Self {
            common: Common::new("rocketchat", faults, seed, log_capacity, RocketChatFaults),
            data: Mutex::new(data),
            limiter: FixedWindow::default(),
            credentials,
        }
    }

    pub(super) fn data(&self) -> MutexGuard<'_, Data> {
        self.data.lock().expect("rocketchat state lock")
    }

    pub(crate) fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/api/v1/sessions/list", get(sessions_list))
            .route("/api/v1/sessions/list.all", get(sessions_list_all))
            .route("/api/v1/sessions/info", get(sessions_info))
            .route("/api/v1/sessions/info.admin", get(sessions_info_admin))
            .route("/api/v1/sessions/logout.me", post(sessions_logout_me))
            .route("/api/v1/sessions/logout", post(sessions_logout))
            .route("/api/v1/users.logout", post(users_logout))
            .route(
                "/api/v1/users.removeOtherTokens",
                post(users_remove_other_tokens),
            )
            .route("/api/v1/users.info", get(users_info))
            .route("/api/v1/users.list", get(users_list))
            .route("/api/v1/me", get(me))
            .route("/api/v1/permissions.listAll", get(permissions_list_all))
            .route("/api/v1/login", post(login))
            .route("/api/v1/logout", post(logout).get(logout))
            .fallback(|| async {
                (
                    StatusCode::NOT_FOUND,
                    Json(json!({"status": "error", "message": "API endpoint does not exist"})),
                )
            })
            .merge(common::control_routes::<RocketChat>())
            .layer(middleware::from_fn_with_state(
                self.clone(),
                common::common_layer::<RocketChat>,
            ))
            .with_state(self)
    }

    // ----- state access for the handle -----

    pub(crate) fn user_id_by_email(&self, email: &str) -> Option<String> {
        let data = self.data();
        data.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .map(|u| u.id.clone())
    }

    /// Sessions whose login token still works and that are not logged out.
    pub(crate) fn live_sessions_of(&self, user: &str) -> Vec<String> {
        let data = self.data();
        let Some(&index) = data.by_id.get(user) else {
            return Vec::new();
        };
        let mut seen = std::collections::HashSet::new();
        let mut docs: Vec<&SessionDoc> = data
            .sessions
            .iter()
            .filter(|d| d.user == index && data.session_live(d))
            .collect();
        docs.sort_by_key(|d| std::cmp::Reverse(d.login_at));
        docs.into_iter()
            .filter(|d| seen.insert(d.token))
            .map(|d| d.session_id().to_owned())
            .collect()
    }

    /// What `sessions/list.all` shows for `user` (logged-out docs excluded, grouped by token).
    pub(crate) fn listed_sessions_of(&self, user: &str) -> Vec<String> {
        let mut data = self.data();
        let Some(&index) = data.by_id.get(user) else {
            return Vec::new();
        };
        let listing = data.listing();
        listing
            .order
            .iter()
            .map(|&i| &data.sessions[i as usize])
            .filter(|d| d.user == index)
            .map(|d| d.session_id().to_owned())
            .collect()
    }

    /// Every session `sessions/list.all` shows, in its order.
    pub(crate) fn listed_sessions(&self) -> Vec<String> {
        let mut data = self.data();
        let listing = data.listing();
        listing
            .order
            .iter()
            .map(|&i| data.sessions[i as usize].session_id().to_owned())
            .collect()
    }

    pub(crate) fn listed_session_count(&self) -> usize {
        self.data().listing().order.len()
    }

    pub(crate) fn token_valid(&self, user: &str, token: &str) -> bool {
        let data = self.data();
        let Some(&index) = data.by_id.get(user) else {
            return false;
        };
        data.tokens
            .get(&hash_token(token))
            .is_some_and(|t| t.user == index)
    }

    pub(crate) fn add_session(&self, user: &str) -> Option<(String, String)> {
        let mut data = self.data();
        let index = *data.by_id.get(user)?;
        let token = data.new_token_string();
        let seeded = seed_session(&mut data.rng);
        let session = data.add_session(
            index,
            &token,
            seeded.device,
            &seeded.ip,
            Utc::now().timestamp_millis(),
        );
        Some((session, token))
    }

    pub(crate) fn add_sessions(&self, user: &str, count: usize) -> usize {
        let mut data = self.data();
        let Some(&index) = data.by_id.get(user) else {
            return 0;
        };
        for _ in 0..count {
            let token = data.new_token_string();
            let seeded = seed_session(&mut data.rng);
            data.add_session(
                index,
                &token,
                seeded.device,
                &seeded.ip,
                seeded.login_at.timestamp_millis(),
            );
        }
        count
    }

    /// Adds a user and then sets what `users.list` shows of it: `active: false`
    /// (deactivated), or a `type` of `bot`.
    pub(crate) fn add_listed_user(&self, email: &str, active: bool, kind: &'static str) -> String {
        let id = self.add_user(email);
        let mut data = self.data();
        let index = data.by_id[&id] as usize;
        data.users[index].active = active;
        data.users[index].kind = kind;
        id
    }

    pub(crate) fn add_user(&self, email: &str) -> String {
        let mut data = self.data();
        let id = meteor_id(&mut data.rng);
        let index = data.users.len() as u32;
        let username = email.split('@').next().unwrap_or("user").to_owned();
        let password = format!("pw-{}", meteor_id(&mut data.rng));
        data.users.push(User {
            id: id.clone(),
            username: username.clone(),
            name: username,
            email: email.to_owned(),
            password,
            admin: false,
            totp_secret: None,
            email_two_factor: false,
            email_code: None,
            resume_order: Vec::new(),
            active: true,
            kind: "user",
        });
        data.by_id.insert(id.clone(), index);
        id
    }

    pub(crate) fn last_email_code(&self, user: &str) -> Option<String> {
        let data = self.data();
        let email = &data.users[*data.by_id.get(user)? as usize].email;
        data.outbox
            .iter()
            .rev()
            .find(|(to, _)| to == email)
            .map(|(_, code)| code.clone())
    }

    pub(crate) fn update_config(&self, update: impl FnOnce(&mut RocketChatConfig)) {
        let mut data = self.data();
        update(&mut data.config);
        let method = data.config.admin_two_factor;
        let admin = &mut data.users[0];
        admin.email_two_factor = method == TwoFactorMethod::Email;
        if method == TwoFactorMethod::Totp {
            admin.totp_secret = Some(self.credentials.admin_totp_secret.clone());
        } else {
            admin.totp_secret = None;
        }
        // Reconfiguring forgets remembered second factors.
        for meta in data.tokens.values_mut() {
            meta.authorized_until = None;
        }
    }

    pub(crate) fn config(&self) -> RocketChatConfig {
        self.data().config.clone()
    }
}
