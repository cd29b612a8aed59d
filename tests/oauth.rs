//! End to end: specgate's OAuth2 client (`specgate::oauth`) gets tokens from the reference
//! server's token endpoint through every flow, with no static token configured, and the password
//! operation accepts or refuses each token according to its scope and its user.
//!
//! The server runs in-process on 127.0.0.1:0. In the authorization-code flow the test plays the
//! browser: it follows the announced URL, and the authorize endpoint's redirect lands on the
//! client's loopback listener. These tests do not cover the CLI flags or the runner's retry.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::mpsc;

use specgate::oauth::{
    self, ClientAuth, Flow, Grant, Interactive, OAuthConfig, OAuthError, Prompt,
};
use specgate::server::{
    self, RunningServer, ServerConfig, SCOPES, TEST_CLIENT_ID, TEST_CLIENT_SECRET,
};

/// Generous for a slow machine; nothing here waits for it unless something is broken.
const TIMEOUT: Duration = Duration::from_secs(10);

async fn start(config: ServerConfig) -> RunningServer {
    server::spawn(([127, 0, 0, 1], 0).into(), config)
        .await
        .expect("the reference server binds 127.0.0.1:0")
}

fn config(server: &RunningServer, flow: Flow) -> OAuthConfig {
    let mut config = OAuthConfig::new(
        format!("http://{}/oauth/token", server.addr),
        TEST_CLIENT_ID,
        flow,
    );
    config.authorize_url = Some(format!("http://{}/oauth/authorize", server.addr));
    config.client_secret = Some(TEST_CLIENT_SECRET.to_owned());
    config.timeout = TIMEOUT;
    config
}

fn password_flow(username: &str, password: &str) -> Flow {
    Flow::Password {
        username: username.to_owned(),
        password: password.to_owned(),
    }
}

fn scopes(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

/// The password operation's status for `token` on `user_id`, with a change that changes nothing.
async fn password_route(server: &RunningServer, user_id: &str, token: &str) -> StatusCode {
    let current = server.password_of(user_id).unwrap_or_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(TIMEOUT)
        .build()
        .expect("client")
        .put(format!(
            "http://{}/local-user-store/api/v1/users/{user_id}/password",
            server.addr
        ))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(json!({ "current_password": current, "new_password": current }).to_string())
        .send()
        .await
        .expect("the password operation answers")
        .status()
}

/// Plays the browser: opens each announced URL and follows the redirects, which end at the
/// client's loopback listener. Returns the prompts it saw once the client stops sending them.
fn browser(mut prompts: mpsc::UnboundedReceiver<Prompt>) -> tokio::task::JoinHandle<Vec<Prompt>> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(TIMEOUT)
            .build()
            .expect("client");
        let mut seen = Vec::new();
        while let Some(prompt) = prompts.recv().await {
            let page = client
                .get(&prompt.url)
                .send()
                .await
                .expect("the authorization URL answers");
            assert_eq!(page.url().host_str(), Some("127.0.0.1"));
            assert_eq!(page.url().path(), "/callback");
            seen.push(prompt);
        }
        seen
    })
}

fn interactive(prompts: mpsc::UnboundedSender<Prompt>) -> Flow {
    Flow::AuthorizationCode(Interactive {
        port: 0,
        prompts,
        wait: TIMEOUT,
    })
}

/// No token of the standard fixture's static table is ever used.
fn issued(grant: &Grant) -> &str {
    assert!(!grant.access_token.starts_with("test-token-"));
    &grant.access_token
}

#[tokio::test]
async fn client_credentials_get_one_token_per_scope_holding_exactly_that_scope() {
    let server = start(ServerConfig::standard()).await;
    let config = config(&server, Flow::ClientCredentials);
    let all = scopes(&SCOPES);
    let grants = oauth::acquire(&config, &all).await.expect("tokens");
    assert_eq!(
        grants.iter().map(|grant| &grant.scope).collect::<Vec<_>>(),
        all.iter().collect::<Vec<_>>()
    );
    for grant in &grants {
        assert_eq!(grant.granted_scopes, Some(vec![grant.scope.clone()]));
        assert_eq!(grant.refresh_token, None);
        assert_eq!(grant.expires_in, Some(Duration::from_secs(3600)));
        // Client credentials act as the fixture's first user: alice.
        let expected = if grant.scope == "user" {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(
            password_route(&server, "alice", issued(grant)).await,
            expected,
            "scope {}",
            grant.scope
        );
    }
}

#[tokio::test]
async fn client_credentials_also_work_with_the_secret_in_the_form() {
    let server = start(ServerConfig::standard()).await;
    let mut config = config(&server, Flow::ClientCredentials);
    config.client_auth = ClientAuth::RequestBody;
    let grants = oauth::acquire(&config, &scopes(&["user", "user"]))
        .await
        .expect("tokens");
    assert_eq!(grants.len(), 1, "a repeated scope is asked for once");
    let user = grants.first().expect("a grant");
    assert_eq!(
        password_route(&server, "alice", issued(user)).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_password_flow_binds_each_token_to_that_user() {
    let server = start(ServerConfig::standard()).await;
    let config = config(&server, password_flow("bob", "bob-Passw0rd!"));
    let grants = oauth::acquire(&config, &scopes(&["user", "usersView"]))
        .await
        .expect("tokens");
    let [user, view] = grants.as_slice() else {
        panic!("two grants: {grants:?}");
    };
    assert!(user.refresh_token.is_some());
    assert_eq!(
        password_route(&server, "bob", issued(user)).await,
        StatusCode::OK
    );
    assert_eq!(
        password_route(&server, "alice", issued(user)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        password_route(&server, "bob", issued(view)).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_authorization_code_flow_completes_through_the_loopback_listener() {
    let server = start(ServerConfig::standard()).await;
    let (sender, receiver) = mpsc::unbounded_channel();
    let browser = browser(receiver);
    let config = config(&server, interactive(sender));
    let grants = oauth::acquire(&config, &scopes(&["user", "admin"]))
        .await
        .expect("tokens");
    // The client holds the only sender: dropping it ends the browser.
    drop(config);
    let prompts = browser.await.expect("the browser ends");

    assert_eq!(
        prompts.iter().map(|p| p.scope.as_str()).collect::<Vec<_>>(),
        ["user", "admin"]
    );
    for prompt in &prompts {
        let url = reqwest::Url::parse(&prompt.url).expect("a URL");
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let has = |name: &str, value: &str| query.iter().any(|(n, v)| n == name && v == value);
        assert!(has("code_challenge_method", "S256"), "{}", prompt.url);
        assert!(has("scope", &prompt.scope), "{}", prompt.url);
        assert!(has("response_type", "code"), "{}", prompt.url);
        assert!(!prompt.url.contains(TEST_CLIENT_SECRET));
    }
    let [user, admin] = grants.as_slice() else {
        panic!("two grants: {grants:?}");
    };
    assert!(user.refresh_token.is_some());
    assert_eq!(
        password_route(&server, "alice", issued(user)).await,
        StatusCode::OK
    );
    assert_eq!(
        password_route(&server, "alice", issued(admin)).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_authorization_refused_at_the_authorize_endpoint_comes_back_as_an_error() {
    let server = start(ServerConfig::standard()).await;
    let (sender, receiver) = mpsc::unbounded_channel();
    let browser = browser(receiver);
    let config = config(&server, interactive(sender));
    let error = oauth::acquire(&config, &scopes(&["no-such-scope"]))
        .await
        .expect_err("the server knows no such scope");
    drop(config);
    browser.await.expect("the browser ends");
    assert_eq!(
        error,
        OAuthError::AuthorizationRefused {
            error: "invalid_scope".to_owned()
        }
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_and_one_refresh_brings_a_working_one() {
    let server = start(ServerConfig {
        token_lifetime: Duration::from_secs(1),
        ..ServerConfig::standard()
    })
    .await;
    let config = config(&server, password_flow("alice", "alice-Passw0rd!"));
    let grants = oauth::acquire(&config, &scopes(&["user"]))
        .await
        .expect("a token");
    let old = grants.first().expect("a grant");
    assert_eq!(old.expires_in, Some(Duration::from_secs(1)));

    // Wait for the expiry without betting on timing: poll, within a generous bound.
    let mut status = password_route(&server, "alice", issued(old)).await;
    for _ in 0..100 {
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = password_route(&server, "alice", issued(old)).await;
    }
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the token expires");

    // The refreshed token must outlive this test however slow the machine is.
    server.set_token_lifetime(Duration::from_secs(3600));
    let new = oauth::refresh(&config, old)
        .await
        .expect("a refreshed token");
    assert_eq!(new.scope, "user");
    assert_ne!(new.access_token, old.access_token);
    assert!(new.refresh_token.is_some());
    assert_ne!(
        new.refresh_token, old.refresh_token,
        "the server rotates it"
    );
    assert_eq!(
        password_route(&server, "alice", issued(&new)).await,
        StatusCode::OK
    );

    // The old refresh token was retired by the rotation.
    let error = oauth::refresh(&config, old)
        .await
        .expect_err("a used refresh token");
    assert!(
        matches!(&error, OAuthError::Refused { status: 400, error, .. } if error == "invalid_grant"),
        "{error}"
    );
}

#[tokio::test]
async fn refreshing_a_client_credentials_grant_asks_again() {
    let server = start(ServerConfig::standard()).await;
    let config = config(&server, Flow::ClientCredentials);
    let grants = oauth::acquire(&config, &scopes(&["user"]))
        .await
        .expect("a token");
    let old = grants.first().expect("a grant");
    let new = oauth::refresh(&config, old).await.expect("a new token");
    assert_ne!(new.access_token, old.access_token);
    assert_eq!(
        password_route(&server, "alice", issued(&new)).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn refusals_name_the_status_and_error_code_and_no_secret() {
    let server = start(ServerConfig::standard()).await;
    let mut wrong_client = config(&server, Flow::ClientCredentials);
    wrong_client.client_secret = Some("Wrong-Client-Secret-1".to_owned());
    let wrong_password = config(&server, password_flow("alice", "Wrong-User-Password-2"));
    let unknown_scope = config(&server, Flow::ClientCredentials);
    for (config, scope, status, code) in [
        (&wrong_client, "user", 401, "invalid_client"),
        (&wrong_password, "user", 400, "invalid_grant"),
        (&unknown_scope, "root", 400, "invalid_scope"),
    ] {
        let error = oauth::acquire(config, &scopes(&[scope]))
            .await
            .expect_err("a refusal");
        assert_eq!(
            error,
            OAuthError::Refused {
                scope: scope.to_owned(),
                status,
                error: code.to_owned()
            }
        );
        let message = error.to_string();
        assert!(!message.contains('\n'), "{message}");
        for secret in [
            "Wrong-Client-Secret-1",
            "Wrong-User-Password-2",
            TEST_CLIENT_SECRET,
        ] {
            assert!(!message.contains(secret), "{message}");
        }
    }
}

#[tokio::test]
async fn a_token_url_that_is_no_token_endpoint_is_a_bad_response() {
    let server = start(ServerConfig::standard()).await;
    let mut config = config(&server, Flow::ClientCredentials);
    // The password operation's path: it answers, but with the contract's Error, not OAuth2's.
    config.token_url = format!(
        "http://{}/local-user-store/api/v1/users/alice/password",
        server.addr
    );
    let error = oauth::acquire(&config, &scopes(&["user"]))
        .await
        .expect_err("not a token endpoint");
    assert!(
        matches!(
            error,
            OAuthError::BadResponse {
                status: Some(405),
                ..
            }
        ),
        "{error}"
    );
    assert!(!error.to_string().contains(TEST_CLIENT_SECRET));
}
