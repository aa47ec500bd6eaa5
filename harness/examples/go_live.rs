//! A custom flow against the reference backend: register, log in, go live, stop, and the replay is
//! listed. Run with `cargo run -p tcharness --example go_live` (needs mariadbd, or `--runtime docker`
//! through `Stack::builder().runtime(..)`).

use tcharness::stack::Stack;
use tcharness::terminal::AppStep;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut stack = Stack::builder().start().await?;
    stack.run(AppStep::register()).await?;
    stack.run(AppStep::login()).await?;
    stack.run(AppStep::start_live()).await?;
    stack.advance_clock(90).await?;
    stack.run(AppStep::StopLive).await?;
    stack.drain_callbacks().await?;
    stack.run(AppStep::fetch_list(2)).await?;
    let replays = stack.app().items();
    assert_eq!(replays.len(), 1, "the replay is listed");
    println!(
        "replay listed: {} {}",
        replays[0].userid, replays[0].playurl
    );
    for entry in stack.cloud().ctx.journal.since(0) {
        println!("{:?} {} -> {}", entry.service, entry.request, entry.outcome);
    }
    Ok(())
}
