//! The deterministic seeded dataset: the same people in every provider, each under
//! that provider's own id format, with realistic devices, addresses and times.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// How many people and sessions to seed, and from which seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DatasetConfig {
    /// Ordinary people (the administrator comes on top).
    pub users: usize,
    /// Sessions per person in each provider.
    pub sessions_per_user: usize,
    /// The seed: the same seed gives the same people, ids and sessions.
    pub seed: u64,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        Self {
            users: 20,
            sessions_per_user: 3,
            seed: 7,
        }
    }
}

impl DatasetConfig {
    /// `users` people with `sessions_per_user` sessions each.
    pub fn new(users: usize, sessions_per_user: usize, seed: u64) -> Self {
        Self {
            users,
            sessions_per_user,
            seed,
        }
    }
}

/// One person, known to all three providers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Person {
    /// 0 for the administrator, then 1, 2, ...
    pub index: usize,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Unique email, the key that links the providers.
    pub email: String,
    /// User name (`first.last`, suffixed when taken).
    pub username: String,
    /// The person's password in every emulated provider (test data, not a secret).
    pub password: String,
    /// Whether this is the administrator.
    pub admin: bool,
    /// DocSpace user id: a GUID.
    pub docspace_id: String,
    /// Rocket.Chat user id: 17 characters of Meteor's alphabet.
    pub rocketchat_id: String,
    /// Slack user id: `U…` or, for org-level users, `W…`.
    pub slack_id: String,
}

impl Person {
    /// `First Last`.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// A kind of device, as the providers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceProfile {
    /// Browser, desktop app or mobile app.
    pub kind: DeviceClass,
    /// Browser or app name.
    pub client: &'static str,
    /// Client version.
    pub client_version: &'static str,
    /// Operating system name.
    pub os: &'static str,
    /// Operating system version.
    pub os_version: &'static str,
    /// Hardware, as Slack reports it.
    pub hardware: &'static str,
}

/// The three classes of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceClass {
    /// A web browser.
    Browser,
    /// A desktop application.
    Desktop,
    /// A mobile application.
    Mobile,
}

/// Devices seen in the wild, used for every provider's sessions.
pub const DEVICES: &[DeviceProfile] = &[
    DeviceProfile {
        kind: DeviceClass::Browser,
        client: "Chrome",
        client_version: "126.0.6478.127",
        os: "Windows",
        os_version: "10",
        hardware: "Intel",
    },
    DeviceProfile {
        kind: DeviceClass::Browser,
        client: "Safari",
        client_version: "17.5",
        os: "Mac OS",
        os_version: "14.5",
        hardware: "Apple",
    },
    DeviceProfile {
        kind: DeviceClass::Browser,
        client: "Firefox",
        client_version: "127.0",
        os: "Ubuntu",
        os_version: "24.04",
        hardware: "AMD",
    },
    DeviceProfile {
        kind: DeviceClass::Browser,
        client: "Edge",
        client_version: "126.0.2592.87",
        os: "Windows",
        os_version: "11",
        hardware: "Intel",
    },
    DeviceProfile {
        kind: DeviceClass::Desktop,
        client: "Desktop App",
        client_version: "4.41.105",
        os: "Mac OS",
        os_version: "14.5",
        hardware: "Apple",
    },
    DeviceProfile {
        kind: DeviceClass::Desktop,
        client: "Desktop App",
        client_version: "4.1.2",
        os: "Windows",
        os_version: "11",
        hardware: "Intel",
    },
    DeviceProfile {
        kind: DeviceClass::Mobile,
        client: "Mobile Safari",
        client_version: "17.5",
        os: "iOS",
        os_version: "17.5.1",
        hardware: "Apple iPhone",
    },
    DeviceProfile {
        kind: DeviceClass::Mobile,
        client: "Mobile App",
        client_version: "4.48.0",
        os: "Android",
        os_version: "14",
        hardware: "Samsung SM-S918B",
    },
];

/// Places, with the addresses seen there (documentation ranges).
pub const PLACES: &[(&str, &str)] = &[
    ("Berlin", "Germany"),
    ("Riga", "Latvia"),
    ("Lisbon", "Portugal"),
    ("Austin", "United States"),
    ("Toronto", "Canada"),
    ("Singapore", "Singapore"),
    ("", ""),
];

const FIRST: &[&str] = &[
    "Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Kaia", "Luca", "Maya", "Nikolai", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tariq", "Uma",
    "Viktor", "Wen", "Ximena", "Yusuf", "Zoe", "Anton", "Bea", "Carlos", "Dana",
];
const LAST: &[&str] = &[
    "Andersen", "Baker", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanova",
    "Jensen", "Kowalski", "Lopez", "Meyer", "Novak", "Olsen", "Petrov", "Quintero", "Rossi",
    "Schmidt", "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zimmer",
];

/// The time seeded sessions are dated back from: fixed, so the data is deterministic.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0)
        .single()
        .expect("valid date")
}

/// Meteor's id alphabet (no look-alike characters).
pub const METEOR_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";

/// A Meteor-style 17-character id.
pub fn meteor_id(rng: &mut fastrand::Rng) -> String {
    (0..17)
        .map(|_| METEOR_ALPHABET[rng.usize(..METEOR_ALPHABET.len())] as char)
        .collect()
}

/// A random GUID in the lowercase hyphenated form DocSpace uses.
pub fn guid(rng: &mut fastrand::Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A Slack-style id: `prefix` then 10 characters of `[A-Z0-9]`.
pub fn slack_id(prefix: char, rng: &mut fastrand::Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::iter::once(prefix)
        .chain((0..10).map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char))
        .collect()
}

/// One seeded session of one person in one provider, before the provider shapes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedSession {
    /// The device.
    pub device: &'static DeviceProfile,
    /// The client address.
    pub ip: String,
    /// City and country (empty when unknown).
    pub place: (&'static str, &'static str),
    /// Login time.
    pub login_at: DateTime<Utc>,
    /// Last activity.
    pub last_active_at: DateTime<Utc>,
}

/// The people, generated from a [`DatasetConfig`].
#[derive(Debug, Clone)]
pub struct Dataset {
    config: DatasetConfig,
    people: Vec<Person>,
}

impl Dataset {
    /// Generates the people: index 0 is the administrator.
    pub fn generate(config: &DatasetConfig) -> Self {
        let mut people = Vec::with_capacity(config.users + 1);
        let mut taken = std::collections::HashSet::new();
        for index in 0..=config.users {
            let mut rng = Self::rng(config.seed, index as u64, 0);
            let (first, last) = if index == 0 {
                ("Avery", "Admin")
            } else {
                (
                    FIRST[rng.usize(..FIRST.len())],
                    LAST[rng.usize(..LAST.len())],
                )
            };
            let base = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
            let username = if taken.insert(base.clone()) {
                base
            } else {
                let unique = format!("{base}.{index}");
                taken.insert(unique.clone());
                unique
            };
            let email = if index == 0 {
                "admin@corp.example".to_owned()
            } else {
                format!("{username}@corp.example")
            };
            let password = format!("pw-{}", meteor_id(&mut rng));
            people.push(Person {
                index,
                first_name: first.to_owned(),
                last_name: last.to_owned(),
                email,
                username: if index == 0 {
                    "admin".to_owned()
                } else {
                    username
                },
                password,
                admin: index == 0,
                docspace_id: guid(&mut rng),
                rocketchat_id: meteor_id(&mut rng),
                slack_id: slack_id(if index % 3 == 0 { 'W' } else { 'U' }, &mut rng),
            });
        }
        Self {
            config: config.clone(),
            people,
        }
    }

    fn rng(seed: u64, index: u64, stream: u64) -> fastrand::Rng {
        fastrand::Rng::with_seed(
            seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ index.wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
                ^ stream.wrapping_mul(0x1656_67B1_9E37_79F9),
        )
    }

    /// The configuration it came from.
    pub fn config(&self) -> &DatasetConfig {
        &self.config
    }

    /// Everybody, administrator first.
    pub fn people(&self) -> &[Person] {
        &self.people
    }

    /// The seeded sessions of `person` in the provider numbered `provider` (each
    /// provider draws its own devices and times for the same person).
    pub fn sessions(&self, person: &Person, provider: u64) -> Vec<SeedSession> {
        let mut rng = Self::rng(self.config.seed, person.index as u64, 1 + provider);
        (0..self.config.sessions_per_user)
            .map(|_| seed_session(&mut rng))
            .collect()
    }
}

/// A random session at a plausible place and time.
pub fn seed_session(rng: &mut fastrand::Rng) -> SeedSession {
    let device = &DEVICES[rng.usize(..DEVICES.len())];
    let place = PLACES[rng.usize(..PLACES.len())];
    let ip = match rng.u8(..10) {
        0 => format!("2001:db8:{:x}::{:x}", rng.u16(..), rng.u16(1..)),
        1..=3 => format!("203.0.113.{}", rng.u8(1..255)),
        4..=6 => format!("198.51.100.{}", rng.u8(1..255)),
        _ => format!("192.0.2.{}", rng.u8(1..255)),
    };
    let login_at = epoch() - Duration::seconds(rng.i64(60..30 * 24 * 3600));
    let last_active_at =
        login_at + Duration::seconds(rng.i64(0..(epoch() - login_at).num_seconds().max(1)));
    SeedSession {
        device,
        ip,
        place,
        login_at,
        last_active_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_people_and_sessions() {
        let config = DatasetConfig::new(50, 3, 42);
        let a = Dataset::generate(&config);
        let b = Dataset::generate(&config);
        assert_eq!(a.people(), b.people());
        assert_eq!(a.sessions(&a.people()[7], 1), b.sessions(&b.people()[7], 1));
        let c = Dataset::generate(&DatasetConfig::new(50, 3, 43));
        assert_ne!(a.people()[1].docspace_id, c.people()[1].docspace_id);
    }

    #[test]
    fn ids_have_each_providers_format_and_emails_are_unique() {
        let data = Dataset::generate(&DatasetConfig::new(300, 1, 1));
        let mut emails = std::collections::HashSet::new();
        for p in data.people() {
            assert!(emails.insert(p.email.clone()), "duplicate {}", p.email);
            assert!(uuid::Uuid::parse_str(&p.docspace_id).is_ok());
            assert_eq!(p.rocketchat_id.len(), 17);
            assert!(
                p.rocketchat_id
                    .bytes()
                    .all(|b| METEOR_ALPHABET.contains(&b))
            );
            assert!(p.slack_id.starts_with('U') || p.slack_id.starts_with('W'));
            assert_eq!(p.slack_id.len(), 11);
        }
        assert!(data.people()[0].admin);
        assert_eq!(data.people()[0].email, "admin@corp.example");
    }

    #[test]
    fn growing_the_dataset_keeps_existing_people() {
        let small = Dataset::generate(&DatasetConfig::new(5, 2, 9));
        let large = Dataset::generate(&DatasetConfig::new(50, 2, 9));
        assert_eq!(small.people()[3].slack_id, large.people()[3].slack_id);
    }
}
