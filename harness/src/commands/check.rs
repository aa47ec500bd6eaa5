//! `tcharness check`: cross-checks a real deployment's files without running anything.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use tcharness::cloud::Tenant;
use tcharness::scenario::check;

use super::Format;

/// A customer's deployment as `check` and `reproduce` read it.
#[derive(Args)]
pub struct DeploymentArgs {
    /// The backend's root (the directory holding conf/).
    #[arg(long)]
    pub backend_root: PathBuf,
    /// The app's constants file (TCConstants.h or TCConstants.java).
    #[arg(long)]
    pub terminal: Option<PathBuf>,
    /// The account's console (a tenant file, in the format of `harness/scenarios/tenant.toml`).
    #[arg(long)]
    pub tenant: Option<PathBuf>,
}

/// Arguments of `tcharness check`.
#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `tcharness check`.
pub fn run(a: CheckArgs) -> anyhow::Result<ExitCode> {
    check_cmd(
        &a.deployment.backend_root,
        a.deployment.terminal.as_deref(),
        a.deployment.tenant.as_deref(),
        a.format,
    )
}

fn check_cmd(
    root: &Path,
    terminal: Option<&Path>,
    tenant: Option<&Path>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let deployment = check::Deployment::load(root, terminal)?;
    let tenant = tenant.map(Tenant::load).transpose()?;
    let findings = check::check(&deployment, tenant.as_ref());
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
        Format::Junit => println!("{}", junit(&findings)),
        Format::Text => {
            if findings.is_empty() {
                println!("no inconsistency found");
            }
            for f in &findings {
                println!("FAQ {:<4} {:<28} {}", f.faq, f.setting, f.message);
                if let Some(at) = f.location() {
                    println!("         at {at}");
                }
                if let Some(found) = &f.found {
                    println!("         found    {found:?}");
                }
                if let Some(expected) = &f.expected {
                    println!("         expected {expected:?}");
                }
            }
        }
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One test case per finding (a failure named by FAQ item and setting), or one passing case.
fn junit(findings: &[check::Finding]) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new("check");
    if findings.is_empty() {
        suite.add_test_case(TestCase::new("deployment", TestCaseStatus::success()));
    }
    for f in findings {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message(f.message.clone());
        let mut detail = Vec::new();
        if let Some(at) = f.location() {
            detail.push(format!("at {at}"));
        }
        if let Some(found) = &f.found {
            detail.push(format!("found {found:?}"));
        }
        if let Some(expected) = &f.expected {
            detail.push(format!("expected {expected:?}"));
        }
        status.set_description(detail.join("\n"));
        let mut case = TestCase::new(format!("FAQ {} {}", f.faq, f.setting), status);
        case.set_classname(format!("check.faq-{}", f.faq));
        suite.add_test_case(case);
    }
    let mut report = Report::new("tcharness check");
    report.add_test_suite(suite);
    report.to_string().unwrap_or_else(|e| {
        format!("<?xml version=\"1.0\"?>\n<!-- cannot write the report: {e} -->\n<testsuites/>\n")
    })
}
