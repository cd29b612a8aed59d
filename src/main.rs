//! The `specgate` binary: parse the command line, run the command, print, exit. The only
//! place that touches the process.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};

use clap::Parser;

use std::io::IsTerminal;

use specgate::cli::{
    Cli, ColorChoice, Command, FailOn, OutputFormat, ReplayArgs, RunArgs, ServeArgs, ValidateArgs,
};
use specgate::config::RunConfig;
use specgate::error::Error;
use specgate::report::{terminal, Restore};
use specgate::runner::Progress;
use specgate::{checks, exit, harness, server};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            // clap: 0 for --help and --version, 2 for usage errors.
            return ExitCode::from(if error.use_stderr() { exit::ERROR } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Run(args) => run(*args),
        Command::Replay(args) => {
            let ReplayArgs { ids, mut run } = *args;
            // A probe (c0042.1) or a shrunk request (c0042.min) belongs to its case.
            run.only.extend(
                ids.iter()
                    .map(|id| id.split('.').next().unwrap_or(id).to_string()),
            );
            self::run(run)
        }
        Command::Serve(args) => serve(args),
        Command::Validate(args) => validate(args),
        Command::Checks => {
            for check in checks::CATALOGUE {
                println!("{:<26}{}", check.id, check.description);
            }
            Ok(exit::CONFORMANT)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            if let Error::SpecLint { diagnostics, .. } = &error {
                eprint!("{diagnostics}");
            }
            eprintln!("specgate: error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::Usage(format!("cannot start the async runtime: {error}")))
}

fn run(args: RunArgs) -> Result<u8, Error> {
    let random_seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos() as u64 ^ u64::from(std::process::id()))
        .unwrap_or(0);
    let file = specgate::config::read_file(args.config.as_deref())?;
    let (format, fail_on, quiet) = (args.format, args.fail_on, args.quiet);
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        }
    };
    let config = RunConfig::from_args(args, file, random_seed)?;
    if config.transport.insecure {
        eprintln!("specgate: warning: --insecure: TLS certificates are not verified");
    }
    let runtime = runtime()?;
    let stop = Arc::new(AtomicBool::new(false));
    runtime.spawn(watch_signals(Arc::clone(&stop)));
    let bar = (!quiet && !config.dry_run && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} cases · {msg} · {per_sec} · {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = bar.clone().map(|bar| {
        Progress(Arc::new(
            move |done: usize, total: usize, failures: usize| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
                bar.set_message(format!("{failures} failures"));
            },
        ))
    });
    // The authorization-code flow tells the URL to open through this channel; printing it is
    // this file's job.
    let (prompts, mut prompted) = tokio::sync::mpsc::unbounded_channel::<specgate::oauth::Prompt>();
    runtime.spawn(async move {
        while let Some(prompt) = prompted.recv().await {
            eprintln!(
                "specgate: to authorize scope `{}`, open this URL in a browser:\n  {}",
                prompt.scope, prompt.url
            );
        }
    });
    let finished = runtime.block_on(harness::run(&config, &stop, progress, Some(prompts)));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let finished = finished?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(plan) = &finished.plan {
        let _ = terminal::write_plan(plan, &finished.secrets, &mut out);
        let _ = out.flush();
        return Ok(exit::CONFORMANT);
    }
    let Some(outcome) = &finished.outcome else {
        return Ok(exit::CONFORMANT);
    };
    if format == OutputFormat::Github {
        let _ = specgate::report::github::write(outcome, &finished.secrets, &mut out);
    }
    let _ = terminal::write(outcome, &finished.secrets, color, &mut out);
    let _ = writeln!(out, "junit    {}", config.junit.display());
    let _ = out.flush();
    if let Restore::Failed(reason) = &outcome.restore {
        return Err(Error::Restore {
            user_id: outcome.account.clone(),
            reason: reason.clone(),
        });
    }
    if outcome.interrupted {
        return Err(Error::Interrupted);
    }
    let warnings_fail = fail_on == FailOn::Warning && outcome.failures().next().is_some();
    Ok(if outcome.conformant() && !warnings_fail {
        exit::CONFORMANT
    } else {
        exit::NOT_CONFORMANT
    })
}

/// The first SIGINT or SIGTERM asks the run to stop (it restores the password, writes its
/// reports and exits 2); a second one exits at once.
async fn watch_signals(stop: Arc<AtomicBool>) {
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        return;
    };
    let mut interrupt = match signal(SignalKind::interrupt()) {
        Ok(interrupt) => interrupt,
        Err(_) => return,
    };
    for _ in 0..2 {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        if stop.swap(true, Ordering::SeqCst) {
            eprintln!("specgate: interrupted again: exiting without restoring the test account");
            std::process::exit(i32::from(exit::ERROR));
        }
        eprintln!("specgate: interrupted: restoring the test account, then exiting (interrupt again to exit at once)");
    }
}

fn validate(args: ValidateArgs) -> Result<u8, Error> {
    use specgate::spec::lint::{self, Severity};
    let mut documents = Vec::new();
    for path in &args.specs {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|error| Error::SpecRead {
            path: shown.clone(),
            reason: error.to_string().to_lowercase(),
        })?;
        documents.push(lint::lint(&bytes, &shown));
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    lint::render(&documents, args.format, &mut out).map_err(|error| Error::Write {
        path: "standard output".into(),
        reason: error.to_string(),
    })?;
    let _ = out.flush();
    let unreadable = documents.iter().any(|d| d.result.is_err());
    let errors = documents.iter().any(|d| {
        d.result
            .as_ref()
            .is_ok_and(|found| found.iter().any(|f| f.severity == Severity::Error))
    });
    Ok(if unreadable {
        exit::ERROR
    } else if errors {
        exit::NOT_CONFORMANT
    } else {
        exit::CONFORMANT
    })
}

fn serve(args: ServeArgs) -> Result<u8, Error> {
    let mut config = server::ServerConfig::standard();
    if !args.users.is_empty() {
        let mut users = Vec::new();
        for user in &args.users {
            let Some((id, password)) = user
                .split_once(':')
                .filter(|(id, pw)| !id.is_empty() && !pw.is_empty())
            else {
                return Err(Error::Usage(format!("--user {user}: expected ID:PASSWORD")));
            };
            users.push(server::User {
                id: id.to_string(),
                password: password.to_string(),
            });
        }
        config.fixture = server::Fixture::with_users(users);
    }
    config.faults = args.faults.iter().copied().collect();
    let fixture = config.fixture.clone();
    let runtime = runtime()?;
    runtime.block_on(async {
        let running = server::spawn(args.addr, config)
            .await
            .map_err(|error| Error::Serve {
                addr: args.addr.to_string(),
                reason: error.to_string().to_lowercase(),
            })?;
        println!(
            "specgate reference server listening on http://{}",
            running.addr
        );
        println!("TEST-ONLY credentials (never use them anywhere else):");
        for user in &fixture.users {
            println!("  user {:<10} password {}", user.id, user.password);
        }
        for token in &fixture.tokens {
            println!(
                "  token of {:<8} scope {:<12} {}",
                token.user_id,
                token.scopes.join(","),
                token.value
            );
        }
        for client in &fixture.clients {
            println!(
                "  oauth2 client {} secret {} (token endpoint http://{addr}/oauth/token, authorize http://{addr}/oauth/authorize)",
                client.id,
                client.secret,
                addr = running.addr
            );
        }
        if !args.faults.is_empty() {
            println!("faults switched on: {:?}", args.faults);
        }
        let _ = std::io::stdout().flush();
        let _ = tokio::signal::ctrl_c().await;
        running.shutdown().await;
        Ok(exit::CONFORMANT)
    })
}
