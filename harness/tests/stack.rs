//! The user API: a whole deployment from a builder, steps run and settled, the cloud and the database
//! asserted on directly.

use tcharness::cloud::Service;
use tcharness::stack::Stack;
use tcharness::terminal::AppStep;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_stack_lists_the_replay_of_a_push() {
    let mut stack = Stack::builder().start().await.expect("the stack starts");
    for step in [AppStep::register(), AppStep::login(), AppStep::start_live()] {
        stack.run(step).await.expect("healthy step");
    }
    stack.advance_clock(90).await.expect("settles");
    stack.run(AppStep::StopLive).await.expect("stop");
    stack.drain_callbacks().await.expect("callbacks delivered");
    stack.run(AppStep::fetch_list(2)).await.expect("list");
    assert_eq!(stack.app().items().len(), 1);
    let rows = stack
        .db()
        .query_rows("SELECT userid, play_url, hls_play_url FROM tape_data")
        .await
        .expect("facts");
    // Both recordings (flv, hls) of the push land in one row.
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0]["play_url"]
            .as_str()
            .is_some_and(|u| u.ends_with(".flv")),
        "{rows:?}"
    );
    let callbacks = stack.cloud().ctx.journal.of(Service::LvbCallback);
    assert!(
        callbacks.iter().all(|e| e.outcome.contains("{\"code\":0}")),
        "{callbacks:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_change_from_the_builder_shows_in_the_flow() {
    let mut stack = Stack::builder()
        .console(
            "lvb.callback_url",
            "http://{backend}/callback/Live_callback",
        )
        .start()
        .await
        .expect("the stack starts");
    for step in [AppStep::register(), AppStep::login(), AppStep::start_live()] {
        stack.run(step).await.expect("step");
    }
    stack.run(AppStep::StopLive).await.expect("stop");
    stack
        .drain_callbacks()
        .await
        .expect("given up, not pending");
    let gave_up = stack
        .cloud()
        .ctx
        .journal
        .of(Service::LvbCallback)
        .into_iter()
        .filter(|e| e.outcome == "gave up after 4 attempts")
        .count();
    assert_eq!(gave_up, 4, "events 1, 0 and two recordings");
    stack.run(AppStep::fetch_list(2)).await.expect("list");
    assert!(stack.app().items().is_empty());
}
