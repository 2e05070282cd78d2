//! The routes: `security/activeconnections/*`, `people/*`, `authentication`.

use super::*;

pub(super) async fn list_connections(
    State(ds): State<Arc<DocSpace>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_scope(&caller, &method, &[]) {
        return r;
    }
    let data = ds.data();
    let user = &data.users[caller.user];
    let mut items: Vec<(i32, &LoginEvent)> = data
        .events
        .iter()
        .rev()
        .filter(|(_, e)| e.user == caller.user && e.active)
        .map(|(id, e)| (*id, e))
        .collect();
    let current = caller.cookie_event;
    if current != 0
        && let Some(pos) = items.iter().position(|(id, _)| *id == current)
    {
        let entry = items.remove(pos);
        items.insert(0, entry);
    }
    let mut json_items: Vec<Value> = items
        .iter()
        .map(|(id, e)| item_json(*id, e, &user.id))
        .collect();
    if current == 0 && json_items.is_empty() {
        // A synthetic entry representing the current request.
        json_items.push(json!({
            "id": 0, "tenantId": 0, "userId": ZERO_GUID, "mobile": false, "ip": "127.0.0.1",
            "country": "", "city": "", "browser": "Other", "platform": "Other", "date": api_date(Utc::now()),
        }));
    }
    success(
        Some(json!({"loginEvent": current, "items": json_items})),
        1,
        links(&headers, &uri, &method),
    )
}

pub(super) async fn logout(
    State(ds): State<Arc<DocSpace>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    // Route constraint {loginEventId:int}: anything else matches no route.
    let Ok(id) = id.parse::<i32>() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_scope(&caller, &method, &[]) {
        return r;
    }
    let mut data = ds.data();
    let is_admin = data.users[caller.user].role.is_docspace_admin();
    let legacy = data.legacy;
    let closed = match data.events.get_mut(&id) {
        None => false,
        Some(event) if legacy => {
            if event.user != caller.user && !is_admin {
                false
            } else {
                event.active = false;
                true
            }
        }
        Some(event) if !event.active => false,
        Some(event) if event.user != caller.user && !is_admin => return access_denied(false),
        Some(event) => {
            event.active = false;
            true
        }
    };
    success(Some(json!(closed)), 1, links(&headers, &uri, &method))
}

pub(super) async fn logout_all(
    State(ds): State<Arc<DocSpace>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    // Route constraint {userId:guid}.
    let Ok(guid) = uuid::Uuid::parse_str(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let target_id = guid.hyphenated().to_string();
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_scope(&caller, &method, &[]) {
        return r;
    }
    let mut data = ds.data();
    let caller_is_admin = data.users[caller.user].role.is_docspace_admin();
    let target = data.by_id.get(&target_id).copied();
    let is_self = target == Some(caller.user);
    if data.legacy {
        // Before v3.7.1 (DocSpace-server 836d3071 to e1c68b6a): DocSpace admins and
        // People product admins, never against another DocSpace admin.
        let target_is_admin = target.is_some_and(|t| data.users[t].role.is_docspace_admin());
        let caller_may = data.users[caller.user].role.is_people_admin();
        if !caller_may || (!is_self && target_is_admin) {
            return access_denied(true);
        }
    } else if !is_self && !caller_is_admin {
        return access_denied(false);
    }
    let mut set_cookie = None;
    // An unknown GUID resolves to the "lost user": the call succeeds and changes nothing.
    if let Some(target) = target {
        data.log_out_all(target);
        if is_self {
            set_cookie = data.relogin(&caller);
        }
    }
    let mut response = success(None, 0, links(&headers, &uri, &method));
    if let Some(token) = set_cookie {
        set_auth_cookie(&mut response, &token, Some(cookie_expiry()));
    }
    response
}

pub(super) async fn logout_all_except_this(
    State(ds): State<Arc<DocSpace>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_scope(&caller, &method, &[]) {
        return r;
    }
    let mut data = ds.data();
    // Only the cookie tells the current event; with a header credential it is 0 and
    // every session closes, the caller's own included.
    let keep = caller.cookie_event;
    for (id, event) in data.events.iter_mut() {
        if event.user == caller.user && *id != keep {
            event.active = false;
        }
    }
    let name = data.users[caller.user].display_name();
    success(Some(json!(name)), 1, links(&headers, &uri, &method))
}

pub(super) async fn logout_all_change_password(
    State(ds): State<Arc<DocSpace>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_scope(&caller, &method, &[]) {
        return r;
    }
    let mut data = ds.data();
    // `LogOutAllActiveConnections(me)`: as `logoutall` on self, a new cookie follows.
    data.log_out_all(caller.user);
    let set_cookie = data.relogin(&caller);
    let key = meteor_id(&mut data.rng);
    let user = &data.users[caller.user];
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let email: String = url::form_urlencoded::byte_serialize(user.email.as_bytes()).collect();
    let url = format!(
        "http://{host}/confirm/PasswordChange?type=PasswordChange&email={email}&key={key}&uid={}",
        user.id
    );
    let mut response = success(Some(json!(url)), 1, links(&headers, &uri, &method));
    if let Some(token) = set_cookie {
        set_auth_cookie(&mut response, &token, Some(cookie_expiry()));
    }
    response
}

pub(super) async fn people_by_email(
    State(ds): State<Arc<DocSpace>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_scope(&caller, &method, &["accounts:read", "accounts:write"]) {
        return r;
    }
    let email = query
        .as_deref()
        .and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k.eq_ignore_ascii_case("email"))
        })
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    // `[EmailAddress]`: exactly one '@', neither first nor last; `[StringLength(255)]`.
    let problem = if email.is_empty() {
        None
    } else if !email
        .find('@')
        .is_some_and(|i| i > 0 && i < email.len() - 1 && email.matches('@').count() == 1)
    {
        Some("The Email field is not a valid e-mail address.")
    } else if email.chars().count() > 255 {
        Some("The field Email must be a string with a maximum length of 255.")
    } else {
        None
    };
    if let Some(message) = problem {
        return validation_problem("Email", message, links(&headers, &uri, &method));
    }
    if email.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "Value cannot be null. (Parameter 'email')",
            "System.ArgumentException",
        );
    }
    let data = ds.data();
    let found = data
        .users
        .iter()
        .position(|u| u.email.eq_ignore_ascii_case(email.trim()));
    let answered = ds
        .common
        .answer_lookup(found, data.users.len(), |id| data.by_id.get(id).copied());
    let Some(target) = answered else {
        return error(
            StatusCode::NOT_FOUND,
            "The user could not be found",
            "ASC.Common.Web.ItemNotFoundException",
        );
    };
    employee_answer(&data, &caller, target, &method, &uri, &headers)
}

/// `GET people/{userid}` (`GetProfileByUserId`): a GUID or a user name. An id nobody
/// has is 404 `ItemNotFoundException` (never the "lost user" placeholder that
/// `logoutall` works on); the existence check runs before the visibility check, so
/// users and guests get 403 only for somebody who exists. API-key scopes are not
/// checked on this route (DocSpace-server `UserController.GetById`).
pub(super) async fn people_by_id(
    State(ds): State<Arc<DocSpace>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let data = ds.data();
    // `people/%40self` arrives here: ASP.NET routes on the decoded path, so it is `@self`.
    if id == "@self" {
        let employee = employee_json(&data.users[caller.user], &headers);
        return success(Some(employee), 1, links(&headers, &uri, &method));
    }
    let target = match uuid::Uuid::parse_str(&id) {
        Ok(guid) => data.by_id.get(&guid.hyphenated().to_string()).copied(),
        Err(_) => data.users.iter().position(|u| u.user_name == id),
    };
    let Some(target) = target else {
        return error(
            StatusCode::NOT_FOUND,
            "The user could not be found",
            "ASC.Common.Web.ItemNotFoundException",
        );
    };
    employee_answer(&data, &caller, target, &method, &uri, &headers)
}

/// The `EmployeeFullDto` envelope of `target`, or 403 when the caller may not see it
/// (`CanUserViewAnotherUserAsync`: users and guests see nobody else; room admins see
/// everyone but guests they share a room with, and there are no rooms here).
pub(super) fn employee_answer(
    data: &Data,
    caller: &Caller,
    target: usize,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response {
    let caller_role = data.users[caller.user].role;
    let visible = target == caller.user
        || match caller_role {
            DocSpaceRole::Owner | DocSpaceRole::Admin => true,
            DocSpaceRole::RoomAdmin | DocSpaceRole::PeopleAdmin => {
                data.users[target].role != DocSpaceRole::Guest
            }
            DocSpaceRole::User | DocSpaceRole::Guest => false,
        };
    if !visible {
        return access_denied(false);
    }
    let employee = employee_json(&data.users[target], headers);
    success(Some(employee), 1, links(headers, uri, method))
}

/// `GET people/@self` (`UserController.Self`): the caller's own `EmployeeFullDto`.
/// API-key scopes are not checked, as on `people/{userid}`. (A client that encodes the
/// `@` reaches `people_by_id`, which answers the same.)
pub(super) async fn people_self(
    State(ds): State<Arc<DocSpace>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let data = ds.data();
    let employee = employee_json(&data.users[caller.user], &headers);
    success(Some(employee), 1, links(&headers, &uri, &method))
}

/// `EmployeeStatus` as `people/filter` binds it: a number or a name.
fn employee_status(value: &str) -> Option<u8> {
    let named = [
        ("active", 1),
        ("terminated", 2),
        ("pending", 4),
        ("default", 5),
        ("all", 7),
    ];
    value.trim().parse::<u8>().ok().or_else(|| {
        named
            .iter()
            .find(|(name, _)| value.trim().eq_ignore_ascii_case(name))
            .map(|(_, n)| *n)
    })
}

/// `GET people/filter` (`SearchUsersByExtendedFilter`): one page of the directory in
/// the store's order, `count` 1 to 100 (default 100) from `startIndex` (default 0),
/// with `total` the size of the whole filtered result. Validation runs before the
/// action: a `count` out of range or a malformed number is a 400
/// `ValidationProblemDetails`. Users and guests get 403 (`SecurityException`). Without
/// `employeeStatus` DocSpace admins see everyone and room or People admins nobody
/// terminated (nor guests, since there are no rooms to share); `employeeStatus`
/// Active (1) or Default (5) keeps the active (invited included), Terminated (2) the
/// terminated, All (7) everyone (`DbUserService`). Other filters and `sortBy`/
/// `sortOrder` are ignored.
pub(super) async fn people_filter(
    State(ds): State<Arc<DocSpace>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let caller = match admit(&ds, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = check_scope(&caller, &method, &["accounts:read", "accounts:write"]) {
        return r;
    }
    let params: Vec<(String, String)> = query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let invalid = |field: &str, message: String| {
        validation_problem(field, &message, links(&headers, &uri, &method))
    };
    let count = match param("count") {
        None => 100,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (1..=100).contains(&n) => n as usize,
            Ok(_) => {
                return invalid(
                    "Count",
                    "The field Count must be between 1 and 100.".to_owned(),
                );
            }
            Err(_) => return invalid("Count", format!("The value '{v}' is not valid for Count.")),
        },
    };
    let start_index = match param("startIndex") {
        None => 0,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
            Err(_) => {
                return invalid(
                    "StartIndex",
                    format!("The value '{v}' is not valid for StartIndex."),
                );
            }
        },
    };
    let status = match param("employeeStatus") {
        None => None,
        Some(v) => match employee_status(v) {
            Some(n) => Some(n),
            None => {
                return invalid(
                    "EmployeeStatus",
                    format!("The value '{v}' is not valid for EmployeeStatus."),
                );
            }
        },
    };
    let data = ds.data();
    let caller_role = data.users[caller.user].role;
    let admin = match caller_role {
        DocSpaceRole::Owner | DocSpaceRole::Admin => true,
        DocSpaceRole::RoomAdmin | DocSpaceRole::PeopleAdmin => false,
        DocSpaceRole::User | DocSpaceRole::Guest => return access_denied(false),
    };
    let matching: Vec<&User> = data
        .users
        .iter()
        .filter(|u| admin || u.role != DocSpaceRole::Guest)
        .filter(|u| match status {
            None => admin || !u.terminated,
            Some(2) => u.terminated,
            Some(1 | 5) => !u.terminated,
            Some(_) => true,
        })
        .collect();
    let total = matching.len();
    let page: Vec<Value> = matching
        .into_iter()
        .skip(start_index)
        .take(count)
        .map(|u| employee_json(u, &headers))
        .collect();
    people_page(page, total, links(&headers, &uri, &method))
}

/// The `EmployeeFullDto` of `user`, as every `people/*` route answers it.
pub(super) fn employee_json(user: &User, headers: &HeaderMap) -> Value {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    json!({
        "id": user.id,
        "displayName": user.display_name(),
        "firstName": user.first_name,
        "lastName": user.last_name,
        "userName": user.user_name,
        "email": user.email,
        "status": if user.terminated { 2 } else { 1 },
        "activationStatus": if user.pending { 2 } else { 1 },
        "isAdmin": user.role.is_docspace_admin(),
        "isRoomAdmin": user.role == DocSpaceRole::RoomAdmin,
        "isOwner": user.role == DocSpaceRole::Owner,
        "isVisitor": user.role == DocSpaceRole::Guest,
        "isCollaborator": false,
        "isLDAP": false,
        "isSSO": false,
        "hasAvatar": false,
        "isAnonim": false,
        "profileUrl": format!("http://{host}/accounts/view/{}", user.user_name),
        "registrationDate": api_date(crate::dataset::epoch() - chrono::Duration::days(400)),
    })
}

pub(super) async fn authenticate(
    State(ds): State<Arc<DocSpace>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let fields: HashMap<String, String> = if is_json {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => map
                .into_iter()
                .filter_map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s,
                        Value::Bool(b) => b.to_string(),
                        _ => return None,
                    };
                    Some((k.to_ascii_lowercase(), text))
                })
                .collect(),
            _ => HashMap::new(),
        }
    } else {
        url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
            .collect()
    };
    let (Some(user_name), Some(password)) = (fields.get("username"), fields.get("password")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "userName or password is empty",
            "System.ArgumentException",
        );
    };
    let mut data = ds.data();
    let Some(user) = data.users.iter().position(|u| {
        (u.email.eq_ignore_ascii_case(user_name) || u.user_name == *user_name)
            && u.password == *password
            && u.can_sign_in()
    }) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "User authentication failed",
            "System.Security.Authentication.AuthenticationException",
        );
    };
    let device = &crate::dataset::DEVICES[0];
    let (_, token) = data.login(user, device, "127.0.0.1", ("", ""), Utc::now());
    let expiry = cookie_expiry();
    let mut response = success(
        Some(json!({"token": token, "expires": api_date(expiry)})),
        1,
        links(&headers, &uri, &method),
    );
    // `"session": true` asks for a session cookie, one with no `expires`.
    let session = fields
        .get("session")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    set_auth_cookie(&mut response, &token, (!session).then_some(expiry));
    response
}

/// When a newly issued personal token's cookie expires.
pub(super) fn cookie_expiry() -> DateTime<Utc> {
    Utc::now() + chrono::Duration::days(20)
}

/// `Set-Cookie: asc_auth_key=…`, persistent when `expires` is given.
pub(super) fn set_auth_cookie(
    response: &mut Response,
    token: &str,
    expires: Option<DateTime<Utc>>,
) {
    let mut cookie = format!("asc_auth_key={token}; path=/");
    if let Some(expires) = expires {
        cookie.push_str(
            &expires
                .format("; expires=%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
        );
    }
    cookie.push_str("; secure; HttpOnly");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
