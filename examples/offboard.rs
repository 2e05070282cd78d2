//! Offboard one person from DocSpace, Rocket.Chat and Slack, and print the report.
//!
//! Runs against the embedded emulators, with no credentials:
//!
//! ```sh
//! cargo run --example offboard --features emulator
//! ```

use unisession::emulated::{self, EmulatedOptions};
use unisession::emulator::{Emulator, EmulatorConfig};
use unisession::fleet::Subject;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::start(EmulatorConfig::new().users(10)).await?;
    let person = emulator.people()[1].clone();
    let fleet = emulated::fleet(&emulator, &EmulatedOptions::default())?.build()?;

    println!("Offboarding {} everywhere…", person.email);
    let report = fleet.offboard(&Subject::email(&person.email)).await;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if report.is_complete() {
        println!("Complete: {} provider(s) done.", report.providers.len());
        Ok(())
    } else {
        for (provider, why) in report.problems() {
            eprintln!("NOT done in {provider}: {why}");
        }
        std::process::exit(1)
    }
}
