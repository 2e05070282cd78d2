//! List the sessions every provider shows, page by page, with one page in memory.
//!
//! ```sh
//! cargo run --example list_everywhere --features emulator
//! ```

use futures::TryStreamExt;
use unisession::emulated::{self, EmulatedOptions};
use unisession::emulator::{Emulator, EmulatorConfig};
use unisession::{ListQuery, SessionProviderExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start(EmulatorConfig::new().users(5).sessions_per_user(2)).await?;
    for (name, provider) in emulated::providers(&emulator, &EmulatedOptions::default())? {
        let caps = provider.capabilities();
        let scope = if caps.list_all_sessions {
            "every user's"
        } else {
            "the caller's own"
        };
        println!("{name}: {scope} sessions");
        let mut sessions = provider.list_all(ListQuery::new().with_limit(10));
        let mut count = 0;
        while let Some(session) = sessions.try_next().await? {
            count += 1;
            if count <= 3 {
                println!(
                    "  {:<20} user {:<38} {:<24} {}",
                    session.id,
                    session.user,
                    session.device.os.as_deref().unwrap_or("-"),
                    session.ip.as_deref().unwrap_or("-"),
                );
            }
        }
        println!("  … {count} in all\n");
    }
    Ok(())
}
