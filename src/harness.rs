//! One `specgate run`, wired end to end: load the spec, start the embedded server when no
//! target is given, run the plan, write the JUnit report. Printing is left to the caller.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::auth::{token_variable, Tokens};
use crate::cli::OAuthFlow;
use crate::client::{Client, Request};
use crate::config::ReportFormat;
use crate::config::{self, RunConfig, Target};
use crate::error::{Error, Result};
use crate::oauth;
use crate::plan::{Budget, Case, PasswordContract};
use crate::redact::Secrets;
use crate::report::{self, junit, Outcome};
use crate::runner::{self, Account, Settings};
use crate::server::{self, ServerConfig};
use crate::spec;

/// Valid requests sent under each credential the operation must refuse: a few are enough to
/// show the refusal, and each one costs a state probe.
const REJECTED_CASES: usize = 3;

/// A finished run: its outcome (or, for `--dry-run`, its plan) and the secrets every printed
/// word must be scrubbed of.
pub struct Finished {
    pub outcome: Option<Outcome>,
    pub plan: Option<Vec<(Case, Request)>>,
    pub secrets: Secrets,
}

/// Runs `config`. Raising `stop` (on a signal) ends the run early, restoring the password.
pub async fn run(
    config: &RunConfig,
    stop: &AtomicBool,
    progress: Option<runner::Progress>,
    prompts: Option<tokio::sync::mpsc::UnboundedSender<oauth::Prompt>>,
) -> Result<Finished> {
    let spec = spec::load_checked(config.spec.as_deref())?;
    let budget = Budget {
        cases: config.cases,
        rejected_cases: REJECTED_CASES.min(config.cases),
        phases: config.phases.clone(),
    };
    let mut secrets = Secrets::default();
    // The embedded server lives as long as this function: the run ends before it does.
    let mut embedded = None;
    let mut oauth = None;
    let mut notes = Vec::new();
    let (base_url, embedded_target, tokens, account) = match &config.target {
        Target::Embedded => {
            let server_config = ServerConfig::standard();
            let fixture = server_config.fixture.clone();
            let running = server::spawn(([127, 0, 0, 1], 0).into(), server_config)
                .await
                .map_err(|error| Error::Serve {
                    addr: "127.0.0.1:0".into(),
                    reason: error.to_string(),
                })?;
            let [user, other, ..] = fixture.users.as_slice() else {
                return Err(Error::Serve {
                    addr: running.addr.to_string(),
                    reason: "the reference fixture needs two users".into(),
                });
            };
            let mut tokens = Tokens::default();
            for token in fixture.tokens.iter().filter(|t| t.user_id == user.id) {
                if let [scope] = token.scopes.as_slice() {
                    tokens.insert(scope, &token.value);
                }
            }
            let account = Account {
                user_id: user.id.clone(),
                password: user.password.clone(),
                other_user_id: Some(other.id.clone()),
                other_password: Some(other.password.clone()),
                other_token: fixture
                    .token(&other.id, "user")
                    .map(|token| token.value.clone()),
            };
            let url = format!("http://{}", running.addr);
            embedded = Some(running);
            let url = url.parse().map_err(|_| Error::Serve {
                addr: url.clone(),
                reason: "not a URL".into(),
            })?;
            (url, true, tokens, account)
        }
        Target::Remote(remote) => {
            if spec
                .operations
                .iter()
                .any(|operation| PasswordContract::detect(operation).is_some())
            {
                remote.require_account()?;
            }
            let env = |name: &str| std::env::var(name).ok();
            let mut tokens = config::tokens(&spec, &remote.tokens, env, &remote.file_tokens)?;
            if let Some(settings) = &remote.oauth {
                oauth = Some(
                    acquire(
                        &spec,
                        config,
                        remote,
                        settings,
                        &mut tokens,
                        &mut notes,
                        prompts,
                    )
                    .await?,
                );
            }
            let account = Account {
                user_id: remote.user_id.clone(),
                password: remote.password.clone(),
                other_user_id: remote.other_user_id.clone(),
                other_password: remote.other_password.clone(),
                other_token: remote.other_token.clone(),
            };
            (remote.url.clone(), false, tokens, account)
        }
    };
    let settings = Settings {
        target_label: base_url.to_string().trim_end_matches('/').to_string(),
        base_url,
        embedded: embedded_target,
        tokens,
        unknown_token: unknown_token(config.seed),
        account,
        seed: config.seed,
        budget,
        checks: config.checks.clone(),
        strict: config.strict,
        declared: crate::case::load(&spec, config.cases_dir.as_deref())?,
        overrides: config.overrides.clone(),
        headers: config.transport.headers.clone(),
        rate_limit: config.rate_limit,
        concurrency: config.concurrency,
        max_wrong_passwords: config.max_wrong_passwords,
        restore: config.restore,
        only: config.only.clone(),
        partition: config.partition,
        progress,
        oauth,
        notes,
        time_budget: config.time_budget,
        max_shrink_steps: config.max_shrink_steps,
    };
    if let Some(unknown) = settings
        .overrides
        .keys()
        .find(|id| !spec.operations.iter().any(|operation| &operation.id == *id))
    {
        return Err(Error::Usage(format!(
            "configuration: operations.{unknown}: the spec has no such operation"
        )));
    }
    for (scope, token) in settings.tokens.iter() {
        secrets.add(token, &token_variable(scope));
    }
    secrets.add(&settings.account.password, "SPECGATE_PASSWORD");
    if let Some(oauth) = &settings.oauth {
        if let Some(secret) = &oauth.config.client_secret {
            secrets.add(secret, "SPECGATE_OAUTH_CLIENT_SECRET");
        }
        for (scope, grant) in &oauth.grants {
            if let Some(token) = &grant.refresh_token {
                secrets.add(
                    token,
                    &format!("SPECGATE_REFRESH_TOKEN_{}", scope.to_uppercase()),
                );
            }
        }
    }
    if let Some(password) = &settings.account.other_password {
        secrets.add(password, "SPECGATE_OTHER_PASSWORD");
    }
    if let Some(token) = &settings.account.other_token {
        secrets.add(token, "SPECGATE_OTHER_TOKEN");
    }
    for (name, value) in &settings.headers {
        secrets.add(value, &header_variable(name));
    }
    require_accepting_token(&spec, &settings)?;

    let loopback = settings.base_url.host_str().is_some_and(|host| {
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
            || host == "[::1]"
    });
    if let Some(only) = &settings.only {
        let (planned, _) = runner::plan(&spec, &settings);
        let planned: std::collections::HashSet<String> =
            planned.cases.map(|case| case.id).collect();
        if let Some(missing) = only.iter().find(|id| !planned.contains(*id)) {
            return Err(Error::Usage(format!(
                "the plan of this seed and these flags has no case {missing}"
            )));
        }
    }
    if config.dry_run {
        return Ok(Finished {
            plan: Some(runner::requests(&spec, &settings)),
            outcome: None,
            secrets,
        });
    }
    let client = Client::new(config.timeout, loopback, &config.transport).map_err(|reason| {
        Error::Target {
            url: settings.target_label.clone(),
            reason,
        }
    })?;
    let outcome = runner::run(&spec, &settings, &client, stop).await?;
    for (scope, token) in &outcome.refreshed {
        secrets.add(token, &token_variable(scope));
    }
    if let Some(running) = embedded {
        running.shutdown().await;
    }
    // Every report is attempted; the first that could not be written is the error.
    let mut written = write_junit(&config.junit, &outcome, &secrets);
    for (format, path) in &config.reports {
        let report = write_report(path, |sink| match format {
            ReportFormat::Html => report::html::write(&outcome, &secrets, sink),
            ReportFormat::Markdown => report::markdown::write(&outcome, &secrets, sink),
            ReportFormat::Json => report::json::write(&outcome, &secrets, sink),
            ReportFormat::Sarif => report::sarif::write(&outcome, &secrets, sink),
        });
        written = written.and(report);
    }
    written?;
    // On GitHub Actions the job's summary page shows the Markdown report.
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let path = std::path::PathBuf::from(summary);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::Write {
                path: path.display().to_string(),
                reason: e.to_string().to_lowercase(),
            })?;
        report::markdown::write(&outcome, &secrets, std::io::BufWriter::new(file)).map_err(
            |e| Error::Write {
                path: path.display().to_string(),
                reason: e.to_string().to_lowercase(),
            },
        )?;
    }
    Ok(Finished {
        outcome: Some(outcome),
        plan: None,
        secrets,
    })
}

/// The environment variable a `--header` value is shown as: `SPECGATE_HEADER_X_API_KEY`.
fn header_variable(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("SPECGATE_HEADER_{name}")
}

/// Gets a token for every scope of the spec's OAuth2 scheme that has none yet, with the
/// configured flow. A scope the identity provider refuses is left without a token (a note
/// says so); any other trouble stops the run.
async fn acquire(
    spec: &spec::Spec,
    config: &RunConfig,
    remote: &config::Remote,
    settings: &config::OAuth,
    tokens: &mut Tokens,
    notes: &mut Vec<String>,
    prompts: Option<tokio::sync::mpsc::UnboundedSender<oauth::Prompt>>,
) -> Result<runner::OAuthState> {
    let scheme = spec
        .security_schemes
        .iter()
        .find(|scheme| !scheme.scopes.is_empty())
        .ok_or_else(|| {
            Error::Usage("--oauth-flow: the spec has no OAuth2 scheme with scopes".into())
        })?;
    let flow = match settings.flow {
        OAuthFlow::ClientCredentials => oauth::Flow::ClientCredentials,
        OAuthFlow::Password => oauth::Flow::Password {
            username: settings.username.clone(),
            password: remote.password.clone(),
        },
        OAuthFlow::AuthorizationCode => oauth::Flow::AuthorizationCode(oauth::Interactive {
            port: settings.redirect_port,
            prompts: prompts.ok_or_else(|| {
                Error::Usage("the authorization-code flow needs a terminal to show its URL".into())
            })?,
            wait: oauth::DEFAULT_WAIT,
        }),
    };
    let urls = scheme
        .flows
        .as_ref()
        .map(|flows| oauth::scheme_urls(flows, &flow))
        .unwrap_or_default();
    let token_url = settings
        .token_url
        .clone()
        .or(urls.token_url.clone())
        .ok_or_else(|| {
            Error::Usage("the spec names no token URL: pass --oauth-token-url".into())
        })?;
    let mut client = oauth::OAuthConfig::new(&token_url, &settings.client_id, flow);
    client.client_secret = settings.client_secret.clone();
    client.authorize_url = settings.authorize_url.clone().or(urls.authorize_url);
    // A token URL given by flag replaces the spec's endpoints, its refresh URL included.
    client.refresh_url = settings
        .token_url
        .is_none()
        .then_some(urls.refresh_url)
        .flatten();
    client.timeout = config.timeout;
    client.cacert = config.transport.cacert.clone();
    client.insecure = config.transport.insecure;
    let mut grants = std::collections::BTreeMap::new();
    for scope in &scheme.scopes {
        if tokens.get(scope).is_some() {
            continue;
        }
        match oauth::acquire(&client, std::slice::from_ref(scope)).await {
            Ok(granted) => {
                for grant in granted {
                    tokens.insert(&grant.scope, &grant.access_token);
                    grants.insert(grant.scope.clone(), grant);
                }
            }
            Err(
                error @ (oauth::OAuthError::Refused { .. }
                | oauth::OAuthError::AuthorizationRefused { .. }),
            ) => {
                notes.push(format!("no token for scope `{scope}`: {error}"));
            }
            Err(error) => {
                return Err(Error::Target {
                    url: token_url.clone(),
                    reason: error.to_string(),
                })
            }
        }
    }
    Ok(runner::OAuthState {
        config: client,
        grants,
    })
}

/// A token no server issued: fixed per seed, and not a secret.
fn unknown_token(seed: u64) -> String {
    format!("specgate-unknown-token-{seed:016x}")
}

/// Valid requests need a token the operations accept; without one the run could prove little.
fn require_accepting_token(spec: &spec::Spec, settings: &Settings) -> Result<()> {
    let scheme = spec
        .security_schemes
        .iter()
        .find(|scheme| !scheme.scopes.is_empty());
    for operation in &spec.operations {
        if operation.security.is_empty() {
            continue;
        }
        let accepted = settings.tokens.iter().any(|(scope, _)| {
            crate::plan::accepts(
                operation,
                scheme.map(|s| s.name.as_str()),
                &crate::auth::Credential::Scope(scope.to_string()),
            )
        });
        if !accepted {
            let needed = scheme
                .map(|scheme| operation.required_scopes(&scheme.name))
                .unwrap_or_default();
            let example = needed.first().map_or("SCOPE", String::as_str);
            return Err(Error::Usage(format!(
                "no token for scope {} that {} requires: pass --token {example}=TOKEN or set {}",
                needed.join(" + "),
                operation.id,
                token_variable(example)
            )));
        }
    }
    Ok(())
}

fn write_junit(path: &Path, outcome: &Outcome, secrets: &Secrets) -> Result<()> {
    write_report(path, |sink| junit::write(outcome, secrets, sink))
}

/// Creates `path` (and its folder) and lets `write` fill it.
fn write_report(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let error = |reason: String| Error::Write {
        path: path.display().to_string(),
        reason,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| error(e.to_string().to_lowercase()))?;
    }
    let file = std::fs::File::create(path).map_err(|e| error(e.to_string().to_lowercase()))?;
    let mut sink = std::io::BufWriter::new(file);
    write(&mut sink)
        .and_then(|()| std::io::Write::flush(&mut sink))
        .map_err(|e| error(e.to_string().to_lowercase()))
}
