//! The FAQ catalogue: one test per scenario file, named by its id, its transcript held against
//! `snapshots/faq__<id>.snap`. Scenario files are found when the test runs; every one is validated first.
//! Accept intended transcript changes with `cargo insta review`. `TCHARNESS_RUNTIME=docker` runs it on
//! the docker provider.

fn main() -> std::process::ExitCode {
    tcharness::runner::CatalogueRunner::dir("scenarios")
        .snapshots("snapshots")
        .run()
}
