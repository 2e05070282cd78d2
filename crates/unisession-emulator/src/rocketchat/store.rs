//! The stored users, tokens and sessions, and how the listings see them.

use super::*;

impl Data {
    pub(super) fn new_token_string(&mut self) -> String {
        let mut bytes = [0u8; 32];
        self.rng.fill(&mut bytes);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    pub(super) fn push_doc(&mut self, doc: SessionDoc) {
        let index = self.sessions.len() as u32;
        self.by_session_id.entry(doc.session_id).or_insert(index);
        self.sessions.push(doc);
        self.listing = None;
    }

    /// A DDP login with a resume token: registers the token and records a session.
    pub(super) fn add_session(
        &mut self,
        user: u32,
        token: &str,
        device: &crate::dataset::DeviceProfile,
        ip: &str,
        login_at: i64,
    ) -> String {
        let hash = hash_token(token);
        self.tokens.insert(
            hash,
            TokenMeta {
                user,
                personal: false,
                bypass_two_factor: false,
                authorized_until: None,
                authorized_for: 0,
            },
        );
        self.users[user as usize].resume_order.push(hash);
        let session_id = meteor_id(&mut self.rng);
        let mut id = [0u8; 17];
        id.copy_from_slice(session_id.as_bytes());
        let mut mongo_id = [0u8; 12];
        self.rng.fill(&mut mongo_id);
        self.session_seq += 1;
        let device_index = DEVICES.iter().position(|d| d == device).unwrap_or(0) as u8;
        self.push_doc(SessionDoc {
            mongo_id,
            session_id: id,
            user,
            token: hash,
            // Devices are sparse: some sessions have none, some lack the OS version.
            device: (!self.session_seq.is_multiple_of(50)).then_some(device_index),
            os_version_known: !self.session_seq.is_multiple_of(7),
            ip: ip.parse().unwrap_or(IpAddr::from([192, 0, 2, 1])),
            login_at,
            last_activity_at: login_at + 60_000,
            logout_at: None,
            logout_by: None,
        });
        session_id
    }

    pub(super) fn session_live(&self, doc: &SessionDoc) -> bool {
        doc.logout_at.is_none()
            && self
                .tokens
                .get(&doc.token)
                .is_some_and(|t| t.user == doc.user)
    }

    /// The listing: per login token its most recent doc, logged-out docs excluded,
    /// newest first. Cached; logouts update it in place, new sessions rebuild it.
    pub(super) fn listing(&mut self) -> Arc<Listing> {
        if self.listing.is_none() {
            let mut latest: HashMap<Hash, u32> = HashMap::new();
            for (i, doc) in self.sessions.iter().enumerate() {
                if doc.logout_at.is_some() {
                    continue;
                }
                latest
                    .entry(doc.token)
                    .and_modify(|best| {
                        if doc.login_at > self.sessions[*best as usize].login_at {
                            *best = i as u32;
                        }
                    })
                    .or_insert(i as u32);
            }
            let mut order: Vec<u32> = latest.values().copied().collect();
            order.sort_by_key(|&i| self.listing_key(i));
            self.listing = Some(Arc::new(Listing {
                order,
                by_token: latest,
            }));
        }
        self.listing.clone().unwrap_or_default()
    }

    pub(super) fn listing_key(&self, i: u32) -> (std::cmp::Reverse<i64>, u32) {
        (std::cmp::Reverse(self.sessions[i as usize].login_at), i)
    }

    /// Drops the listed doc of `token` (logged out now), found by binary search.
    pub(super) fn unlist_token(&mut self, user: u32, token: &Hash) {
        let Some(&i) = self.listing.as_ref().and_then(|l| l.by_token.get(token)) else {
            return;
        };
        if self.sessions[i as usize].user != user {
            return;
        }
        let key = self.listing_key(i);
        let Some(listing) = self.listing.as_mut() else {
            return;
        };
        let listing = Arc::make_mut(listing);
        listing.by_token.remove(token);
        let sessions = &self.sessions;
        if let Ok(at) = listing.order.binary_search_by_key(&key, |&j| {
            (std::cmp::Reverse(sessions[j as usize].login_at), j)
        }) {
            listing.order.remove(at);
        }
    }

    /// Whether `user` has a local password (`services.password.bcrypt`); see
    /// [`RocketChatConfig::admin_has_password`].
    pub(super) fn has_password(&self, user: &User) -> bool {
        !user.admin || self.config.admin_has_password
    }

    /// Under the stale-listing switch, the listed docs `gone` selects stay listed
    /// for `stale_ms` more (called before they are unlisted).
    pub(super) fn keep_stale(&mut self, stale_ms: u64, gone: impl Fn(&SessionDoc) -> bool) {
        if stale_ms == 0 {
            return;
        }
        let listing = self.listing();
        let until = Instant::now() + Duration::from_millis(stale_ms);
        let picked: Vec<u32> = listing
            .order
            .iter()
            .copied()
            .filter(|&i| gone(&self.sessions[i as usize]))
            .collect();
        self.stale.extend(picked.into_iter().map(|i| (i, until)));
    }

    /// Drops the listed docs `gone` selects (all of them logged out now).
    pub(super) fn unlist(&mut self, gone: impl Fn(&SessionDoc) -> bool) {
        let Some(listing) = self.listing.as_mut() else {
            return;
        };
        let listing = Arc::make_mut(listing);
        let sessions = &self.sessions;
        listing.order.retain(|&i| !gone(&sessions[i as usize]));
        listing
            .by_token
            .retain(|_, &mut i| !gone(&sessions[i as usize]));
    }

    /// `Users.unsetOneLoginToken` + `Sessions.logoutByloginTokenAndUserId`.
    pub(super) fn log_out_token(&mut self, user: u32, token: Hash, by: u32) {
        if self.tokens.get(&token).is_some_and(|t| t.user == user) {
            self.tokens.remove(&token);
        }
        let now = Utc::now().timestamp_millis();
        for doc in self
            .sessions
            .iter_mut()
            .filter(|d| d.user == user && d.token == token)
        {
            doc.logout_at = Some(now);
            doc.logout_by = Some(by);
        }
        self.unlist_token(user, &token);
    }

    pub(super) fn device_json(&self, doc: &SessionDoc) -> Option<Value> {
        let device = &DEVICES[doc.device? as usize];
        let kind = match device.kind {
            DeviceClass::Browser => "browser",
            DeviceClass::Desktop => "desktop",
            DeviceClass::Mobile => "mobile",
        };
        let mut os = Map::new();
        os.insert("name".into(), json!(device.os));
        if doc.os_version_known {
            os.insert("version".into(), json!(device.os_version));
        }
        let short = device
            .client_version
            .split('.')
            .take(3)
            .collect::<Vec<_>>()
            .join(".");
        Some(json!({
            "type": kind,
            "name": device.client,
            "longVersion": device.client_version,
            "os": os,
            "version": short,
        }))
    }

    pub(super) fn search_term(&self, doc: &SessionDoc) -> String {
        let mut term = String::new();
        if let Some(d) = doc.device {
            let d = &DEVICES[d as usize];
            term.push_str(d.client);
            term.push_str(match d.kind {
                DeviceClass::Browser => "browser",
                DeviceClass::Desktop => "desktop",
                DeviceClass::Mobile => "mobile",
            });
            term.push_str(d.os);
        }
        term.push_str(doc.session_id());
        term.push_str(&self.users[doc.user as usize].id);
        term
    }

    /// The list item (`DeviceManagementSession`), populated with `_user` for admins.
    pub(super) fn item_json(
        &self,
        doc: &SessionDoc,
        populated: bool,
        current: Option<&Hash>,
    ) -> Value {
        let user = &self.users[doc.user as usize];
        let mut item = Map::new();
        item.insert("sessionId".into(), json!(doc.session_id()));
        item.insert("userId".into(), json!(user.id));
        if let Some(device) = self.device_json(doc) {
            item.insert("device".into(), device);
        }
        item.insert("host".into(), json!("chat.corp.example"));
        item.insert("ip".into(), json!(doc.ip.to_string()));
        item.insert("loginAt".into(), json!(iso(doc.login_at)));
        item.insert("_id".into(), json!(doc.session_id()));
        if populated {
            item.insert(
                "_user".into(),
                json!({"username": user.username, "name": user.name}),
            );
        }
        if let Some(current) = current {
            item.insert("current".into(), json!(&doc.token == current));
        }
        Value::Object(item)
    }

    /// The raw session document (`sessions/info`): `_id` is a Mongo id, not the sessionId.
    pub(super) fn raw_doc_json(&self, doc: &SessionDoc) -> Value {
        let user = &self.users[doc.user as usize];
        let login = DateTime::<Utc>::from_timestamp_millis(doc.login_at).unwrap_or_default();
        let mut raw = json!({
            "_id": hex::encode(doc.mongo_id),
            "type": "session",
            "sessionId": doc.session_id(),
            "instanceId": "f0313fa9-6a2b-4c4e-9a61-6f8f5d1f6c01",
            "loginToken": hash_b64(&doc.token),
            "ip": doc.ip.to_string(),
            "host": "chat.corp.example",
            "userId": user.id,
            "roles": if user.admin { json!(["admin"]) } else { json!(["user"]) },
            "mostImportantRole": if user.admin { "admin" } else { "user" },
            "loginAt": iso(doc.login_at),
            "day": login.day(),
            "month": login.month(),
            "year": login.year(),
            "searchTerm": self.search_term(doc),
            "createdAt": iso(doc.login_at),
            "_updatedAt": iso(doc.last_activity_at),
            "lastActivityAt": iso(doc.last_activity_at),
            "success": true,
        });
        if let Some(device) = self.device_json(doc) {
            raw["device"] = device;
        }
        if let Some(at) = doc.logout_at {
            raw["logoutAt"] = json!(iso(at));
            raw["closedAt"] = json!(iso(at));
            if let Some(by) = doc.logout_by {
                raw["logoutBy"] = json!(self.users[by as usize].id);
            }
        }
        raw
    }

    /// A user as `users.info` shows it to `viewer`: `emails`, `roles` and
    /// `lastLogin` only for the user itself or a caller with
    /// `view-full-other-user-info` (`getFullUserData.ts`).
    pub(super) fn user_json_for(&self, user: &User, viewer: u32) -> Value {
        let me = &self.users[viewer as usize];
        let mut json = json!({
            "_id": user.id,
            "username": user.username,
            "type": "user",
            "status": "offline",
            "active": true,
            "name": user.name,
            "utcOffset": 0,
        });
        if me.admin || me.id == user.id {
            json["emails"] = json!([{"address": user.email, "verified": true}]);
            json["roles"] = if user.admin {
                json!(["admin"])
            } else {
                json!(["user"])
            };
            json["canViewAllInfo"] = json!(true);
        } else {
            json["canViewAllInfo"] = json!(false);
        }
        json
    }

    pub(super) fn user_json(&self, user: &User) -> Value {
        json!({
            "_id": user.id,
            "username": user.username,
            "emails": [{"address": user.email, "verified": true}],
            "type": "user",
            "status": "offline",
            "active": true,
            "roles": if user.admin { json!(["admin"]) } else { json!(["user"]) },
            "name": user.name,
            "utcOffset": 0,
        })
    }
}
