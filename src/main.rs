//! The `lookout` binary: parses the command line and runs the chosen command. Exit codes:
//! 0 success, 1 runtime failure (the error chain is printed), 2 bad usage (clap's own).

mod cli;
mod client;
mod client_logs;
mod config;
mod dashboards;
mod datadir;
mod events;
mod http;
mod import;
mod memory;
mod selfmetrics;
mod serve;

fn main() -> std::process::ExitCode {
    let cli = <cli::Cli as clap::Parser>::parse();
    match cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lookout: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
