//! Tests of the reference server over real HTTP on 127.0.0.1: each contract step, then each fault.
//!
//! They check the server against the contract as written in the brief and the spec, by hand; they
//! do not use specgate's checks, which are tested against this server elsewhere.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::header::{ALLOW, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;

const ALICE: &str = "test-token-alice-user";
const ALICE_PASSWORD: &str = "alice-Passw0rd!";
const BOB_PASSWORD: &str = "bob-Passw0rd!";
const NEW_PASSWORD: &str = "n3w-Secret!";

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .expect("client")
}

async fn start(faults: &[Fault]) -> RunningServer {
    let config = ServerConfig::standard().with_faults(faults.iter().copied());
    spawn("127.0.0.1:0".parse().expect("address"), config)
        .await
        .expect("server starts")
}

fn url(server: &RunningServer, user_id: &str) -> String {
    format!(
        "http://{}/local-user-store/api/v1/users/{user_id}/password",
        server.addr
    )
}

fn body(current: &str, new: &str) -> String {
    json!({ "current_password": current, "new_password": new }).to_string()
}

/// A PUT with a JSON content type, as a well-behaved client sends it.
async fn put(
    server: &RunningServer,
    user_id: &str,
    token: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = client(Duration::from_secs(5))
        .put(url(server, user_id))
        .header(CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("response")
}

/// Alice changing her own password: the request most tests vary one thing of.
async fn put_alice(server: &RunningServer, body: impl Into<reqwest::Body>) -> reqwest::Response {
    put(server, "alice", Some(ALICE), body).await
}

struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    text: String,
}

impl Answer {
    async fn of(response: reqwest::Response) -> Answer {
        Answer {
            status: response.status(),
            content_type: response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
            text: response.text().await.expect("body"),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).expect("JSON body")
    }

    /// Asserts a conformant Error answer and returns its body.
    fn error(&self, status: StatusCode, code: &str) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(self.content_type.as_deref(), Some("application/json"));
        let error = self.json();
        assert_eq!(error["error_code"], code, "body: {}", self.text);
        assert!(error["error_message"].is_string());
        error
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    Answer::of(response).await
}

async fn answer_of_alice(server: &RunningServer, body: impl Into<reqwest::Body>) -> Answer {
    answer(put_alice(server, body).await).await
}

// Step 9 first: the happy path the other steps depart from.

#[tokio::test]
async fn a_valid_change_answers_200_with_no_body_and_stores_the_password() {
    let server = start(&[]).await;
    let answer = answer(put_alice(&server, body(ALICE_PASSWORD, NEW_PASSWORD)).await).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type, None);
    assert_eq!(answer.text, "");
    assert_eq!(server.password_of("alice").as_deref(), Some(NEW_PASSWORD));
    assert_eq!(server.password_of("bob").as_deref(), Some(BOB_PASSWORD));

    let again = answer_of_alice(&server, body(ALICE_PASSWORD, "other")).await;
    again.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST_DATA");
    assert_eq!(server.password_of("alice").as_deref(), Some(NEW_PASSWORD));
}

// Step 1: routing.

#[tokio::test]
async fn an_unknown_path_is_a_404_error() {
    let server = start(&[]).await;
    let response = client(Duration::from_secs(5))
        .get(format!("http://{}/nowhere", server.addr))
        .send()
        .await
        .expect("response");
    answer(response)
        .await
        .error(StatusCode::NOT_FOUND, "GENERAL_ERROR");
}

#[tokio::test]
async fn another_method_on_the_route_is_a_405_error() {
    let server = start(&[]).await;
    let response = client(Duration::from_secs(5))
        .post(url(&server, "alice"))
        .bearer_auth(ALICE)
        .send()
        .await
        .expect("response");
    assert_eq!(response.headers().get(ALLOW).expect("Allow"), "PUT");
    answer(response)
        .await
        .error(StatusCode::METHOD_NOT_ALLOWED, "GENERAL_ERROR");
}

#[tokio::test]
async fn an_undecodable_user_id_is_a_404_error() {
    let server = start(&[]).await;
    let answer = answer(
        put(
            &server,
            "%FF",
            Some(ALICE),
            body(ALICE_PASSWORD, NEW_PASSWORD),
        )
        .await,
    )
    .await;
    answer.error(StatusCode::NOT_FOUND, "GENERAL_ERROR");
}

// Step 2: authentication.

#[tokio::test]
async fn a_missing_or_malformed_or_unknown_token_is_a_401() {
    let server = start(&[]).await;
    let schemes = [
        None,
        Some("Basic YWxpY2U6eA=="),
        Some("Bearer"),
        Some("Bearer "),
        Some("test-token-alice-user"),
        Some("Bearer not-a-token"),
    ];
    for authorization in schemes {
        let mut request = client(Duration::from_secs(5))
            .put(url(&server, "alice"))
            .header(CONTENT_TYPE, "application/json")
            .body(body(ALICE_PASSWORD, NEW_PASSWORD));
        if let Some(authorization) = authorization {
            request = request.header("Authorization", authorization);
        }
        let response = request.send().await.expect("response");
        assert_eq!(
            response.headers().get(WWW_AUTHENTICATE).expect("challenge"),
            "Bearer"
        );
        let answer = answer(response).await;
        answer.error(StatusCode::UNAUTHORIZED, "PERMISSION_DENIED");
        assert!(!answer.text.contains("not-a-token"));
    }
    assert_eq!(server.password_of("alice").as_deref(), Some(ALICE_PASSWORD));
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let server = start(&[]).await;
    let response = client(Duration::from_secs(5))
        .put(url(&server, "alice"))
        .header(CONTENT_TYPE, "application/json")
        .header("Authorization", format!("bEARER {ALICE}"))
        .body(body(ALICE_PASSWORD, NEW_PASSWORD))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
}

// Step 3: scope.

#[tokio::test]
async fn a_token_without_the_user_scope_is_a_403() {
    let server = start(&[]).await;
    for scope in SCOPES.into_iter().filter(|scope| *scope != "user") {
        let token = format!("test-token-alice-{scope}");
        let answer = answer(
            put(
                &server,
                "alice",
                Some(&token),
                body(ALICE_PASSWORD, NEW_PASSWORD),
            )
            .await,
        )
        .await;
        answer.error(StatusCode::FORBIDDEN, "PERMISSION_DENIED");
    }
    assert_eq!(server.password_of("alice").as_deref(), Some(ALICE_PASSWORD));
}

// Step 4: the target user.

#[tokio::test]
async fn an_unknown_user_is_a_404() {
    let server = start(&[]).await;
    let answer = answer(
        put(
            &server,
            "carol",
            Some(ALICE),
            body(ALICE_PASSWORD, NEW_PASSWORD),
        )
        .await,
    )
    .await;
    answer.error(StatusCode::NOT_FOUND, "GENERAL_ERROR");
}

#[tokio::test]
async fn another_users_password_is_a_403_and_stays() {
    let server = start(&[]).await;
    let answer = answer(
        put(
            &server,
            "bob",
            Some(ALICE),
            body(BOB_PASSWORD, NEW_PASSWORD),
        )
        .await,
    )
    .await;
    answer.error(StatusCode::FORBIDDEN, "PERMISSION_DENIED");
    assert_eq!(server.password_of("bob").as_deref(), Some(BOB_PASSWORD));
}

#[tokio::test]
async fn the_user_id_is_percent_decoded() {
    // The generated token value would hold the space and the `é`, which a header cannot carry.
    let fixture = Fixture {
        users: vec![User::new("a b/é", "pw")],
        tokens: vec![Token {
            value: "tok".to_owned(),
            user_id: "a b/é".to_owned(),
            scopes: vec!["user".to_owned()],
        }],
        clients: Vec::new(),
    };
    let config = ServerConfig {
        fixture,
        faults: BTreeSet::new(),
        token_lifetime: DEFAULT_TOKEN_LIFETIME,
    };
    let server = spawn("127.0.0.1:0".parse().expect("address"), config)
        .await
        .expect("server starts");
    let response = put(
        &server,
        "a%20b%2F%C3%A9",
        Some("tok"),
        body("pw", NEW_PASSWORD),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.password_of("a b/é").as_deref(), Some(NEW_PASSWORD));
}

// Step 5: the body as a whole.

#[tokio::test]
async fn a_body_over_64_kib_is_a_400_and_one_at_the_limit_is_read() {
    let server = start(&[]).await;
    let base = body(ALICE_PASSWORD, NEW_PASSWORD);
    // `{"pad":"…",` + the rest of `base` after its `{`, padded to exactly the limit.
    let overhead = r#"{"pad":"","#.len() + base.len() - 1;
    let at_limit = format!(
        r#"{{"pad":"{}",{}"#,
        "x".repeat(64 * 1024 - overhead),
        &base[1..]
    );
    assert_eq!(at_limit.len(), 64 * 1024);

    let over = format!("{at_limit} ");
    let answer = answer_of_alice(&server, over).await;
    let error = answer.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST_DATA");
    assert_eq!(error["error_message"], "request body too large");
    assert_eq!(server.password_of("alice").as_deref(), Some(ALICE_PASSWORD));

    let response = put_alice(&server, at_limit).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_chunked_body_over_64_kib_is_a_json_400_not_a_plain_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = start(&[]).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    // No Content-Length, so only counting the bytes as they arrive can enforce the limit.
    let head = format!(
        "PUT /local-user-store/api/v1/users/alice/password HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Bearer {ALICE}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let chunk = format!("4000\r\n{}\r\n", " ".repeat(0x4000));
    for _ in 0..5 {
        // The server may answer and close before it has read everything; that is the point.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response));
    // A reset after the answer arrived is fine; what was read before it is what counts.
    let _ = read.await.expect("answer in time");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    assert!(
        response.contains("content-type: application/json"),
        "{response}"
    );
    assert!(response.contains("request body too large"), "{response}");
}

#[tokio::test]
async fn a_content_type_other_than_json_is_a_400() {
    let server = start(&[]).await;
    for content_type in [None, Some("text/plain"), Some("application/jsonx")] {
        let mut request = client(Duration::from_secs(5))
            .put(url(&server, "alice"))
            .bearer_auth(ALICE)
            .body(body(ALICE_PASSWORD, NEW_PASSWORD));
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let answer = answer(request.send().await.expect("response")).await;
        answer.error(StatusCode::BAD_REQUEST, "BAD_REQUEST");
    }
    assert_eq!(server.password_of("alice").as_deref(), Some(ALICE_PASSWORD));
}

#[tokio::test]
async fn json_parameters_and_case_do_not_matter() {
    let server = start(&[]).await;
    let response = client(Duration::from_secs(5))
        .put(url(&server, "alice"))
        .bearer_auth(ALICE)
        .header(CONTENT_TYPE, " Application/JSON ; charset=utf-8")
        .body(body(ALICE_PASSWORD, NEW_PASSWORD))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn bytes_that_are_not_utf8_json_are_a_400() {
    let server = start(&[]).await;
    let bodies: [&[u8]; 4] = [
        b"",
        b"{",
        b"{\"current_password\": \"\xff\"}",
        b"\"\\ud800\"",
    ];
    for bytes in bodies {
        let answer = answer_of_alice(&server, bytes.to_vec()).await;
        let error = answer.error(StatusCode::BAD_REQUEST, "BAD_REQUEST");
        assert_eq!(error["error_message"], "malformed JSON");
    }
}

#[tokio::test]
async fn json_that_is_not_an_object_is_a_400() {
    let server = start(&[]).await;
    for text in ["[]", "null", "\"x\"", "42"] {
        let answer = answer_of_alice(&server, text).await;
        answer.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST_DATA");
    }
}

// Step 6: the fields.

#[tokio::test]
async fn one_field_problem_is_the_error_itself() {
    let server = start(&[]).await;
    let cases = [
        (
            json!({ "new_password": "x" }),
            "REQUIRED_VALUE_MISSING",
            "current_password",
        ),
        (
            json!({ "current_password": ALICE_PASSWORD }),
            "REQUIRED_VALUE_MISSING",
            "new_password",
        ),
        (
            json!({ "current_password": null, "new_password": "x" }),
            "VALUE_INCORRECT_TYPE",
            "current_password",
        ),
        (
            json!({ "current_password": ALICE_PASSWORD, "new_password": 7 }),
            "VALUE_INCORRECT_TYPE",
            "new_password",
        ),
    ];
    for (request, code, property) in cases {
        let answer = answer_of_alice(&server, request.to_string()).await;
        let error = answer.error(StatusCode::BAD_REQUEST, code);
        assert_eq!(error["property"], property);
        assert!(error.get("details").is_none());
        assert!(!answer.text.contains(ALICE_PASSWORD));
    }
    assert_eq!(server.password_of("alice").as_deref(), Some(ALICE_PASSWORD));
}

#[tokio::test]
async fn several_field_problems_are_listed_in_details() {
    let server = start(&[]).await;
    let answer = answer_of_alice(&server, json!({ "new_password": [] }).to_string()).await;
    let error = answer.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST_DATA");
    assert_eq!(error["error_message"], "the request body has 2 problems");
    let details = error["details"].as_array().expect("details array");
    assert_eq!(details.len(), 2);
    assert_eq!(details[0]["error_code"], "REQUIRED_VALUE_MISSING");
    assert_eq!(details[0]["property"], "current_password");
    assert_eq!(details[1]["error_code"], "VALUE_INCORRECT_TYPE");
    assert_eq!(details[1]["property"], "new_password");
}

#[tokio::test]
async fn unknown_properties_are_ignored() {
    let server = start(&[]).await;
    let request = json!({
        "current_password": ALICE_PASSWORD,
        "new_password": NEW_PASSWORD,
        "extra": { "deep": [1, 2] },
    });
    let response = put_alice(&server, request.to_string()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.password_of("alice").as_deref(), Some(NEW_PASSWORD));
}

// Step 7: the current password.

#[tokio::test]
async fn a_wrong_current_password_is_a_400_that_does_not_echo_it() {
    let server = start(&[]).await;
    let answer = answer_of_alice(&server, body("guessed-Wrong1", NEW_PASSWORD)).await;
    let error = answer.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST_DATA");
    assert_eq!(error["property"], "current_password");
    assert!(!answer.text.contains("guessed-Wrong1"));
    assert!(!answer.text.contains(NEW_PASSWORD));
    assert_eq!(server.password_of("alice").as_deref(), Some(ALICE_PASSWORD));
}

// Step 8: the policy.

#[tokio::test]
async fn the_new_password_must_have_1_to_1024_characters() {
    let server = start(&[]).await;
    for new in [String::new(), "x".repeat(1025), "é".repeat(1025)] {
        let answer = answer_of_alice(&server, body(ALICE_PASSWORD, &new)).await;
        let error = answer.error(StatusCode::BAD_REQUEST, "VALUE_OUT_OF_BOUNDS");
        assert_eq!(error["property"], "new_password");
        assert_eq!(server.password_of("alice").as_deref(), Some(ALICE_PASSWORD));
    }
    // 1024 characters but 2048 bytes: the limit counts characters.
    let longest = "é".repeat(1024);
    let response = put_alice(&server, body(ALICE_PASSWORD, &longest)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.password_of("alice"), Some(longest));
}

// The public helpers.

#[test]
fn the_standard_fixture_has_a_token_per_scope_for_alice_and_a_user_token_for_bob() {
    let fixture = Fixture::standard();
    assert_eq!(fixture.tokens.len(), 6);
    for scope in SCOPES {
        let token = fixture.token("alice", scope).expect("alice token");
        assert_eq!(token.value, format!("test-token-alice-{scope}"));
    }
    assert_eq!(
        fixture
            .token("bob", "user")
            .map(|token| token.value.as_str()),
        Some("test-token-bob-user")
    );
    assert_eq!(fixture.token("bob", "admin"), None);
}

#[test]
fn faults_have_kebab_case_names() {
    let names: BTreeSet<String> = Fault::all().iter().map(Fault::to_string).collect();
    assert_eq!(names.len(), Fault::all().len(), "names are unique");
    for name in &names {
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name}"
        );
    }
    assert_eq!(
        Fault::DeepErrorMissingCode.to_string(),
        "deep-error-missing-code"
    );
}

#[tokio::test]
async fn the_router_can_be_served_by_the_caller() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let serving =
        tokio::spawn(async move { axum::serve(listener, router(ServerConfig::standard())).await });
    let response = client(Duration::from_secs(5))
        .get(format!("http://{addr}/"))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    serving.abort();
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let server = start(&[]).await;
    let addr = server.addr;
    server.shutdown().await;
    let refused = client(Duration::from_secs(5))
        .get(format!("http://{addr}/"))
        .send()
        .await;
    assert!(refused.is_err());
}

// Faults: each shows its one deviation.

#[tokio::test]
async fn fault_undocumented_status_answers_422_for_body_errors() {
    let server = start(&[Fault::UndocumentedStatus]).await;
    for request in ["{", "[]", "{}"] {
        let answer = answer_of_alice(&server, request).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let answer = answer_of_alice(&server, body("wrong", NEW_PASSWORD)).await;
    answer.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST_DATA");
}

#[tokio::test]
async fn fault_deep_error_missing_code_nests_an_error_without_code() {
    let server = start(&[Fault::DeepErrorMissingCode]).await;
    let request = json!({ "current_password": ALICE_PASSWORD }).to_string();
    let answer = answer_of_alice(&server, request).await;
    let error = answer.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST_DATA");
    let inner = &error["details"][0]["details"][0];
    assert_eq!(error["details"][0]["error_code"], "INVALID_REQUEST_DATA");
    assert_eq!(inner["property"], "new_password");
    assert!(inner.get("error_code").is_none());
}

#[tokio::test]
async fn fault_scope_not_enforced_lets_any_scope_change_the_password() {
    let server = start(&[Fault::ScopeNotEnforced]).await;
    let token = "test-token-alice-usersView";
    let response = put(
        &server,
        "alice",
        Some(token),
        body(ALICE_PASSWORD, NEW_PASSWORD),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.password_of("alice").as_deref(), Some(NEW_PASSWORD));
}

#[tokio::test]
async fn fault_no_auth_acts_as_the_first_user_without_a_token() {
    let server = start(&[Fault::NoAuth]).await;
    let response = put(&server, "alice", None, body(ALICE_PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.password_of("alice").as_deref(), Some(NEW_PASSWORD));
    // A known token is still held to its scope.
    let token = "test-token-alice-admin";
    let response = put(&server, "alice", Some(token), body(NEW_PASSWORD, "x")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn fault_other_user_changeable_lets_alice_change_bobs_password() {
    let server = start(&[Fault::OtherUserChangeable]).await;
    let response = put(
        &server,
        "bob",
        Some(ALICE),
        body(BOB_PASSWORD, NEW_PASSWORD),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.password_of("bob").as_deref(), Some(NEW_PASSWORD));
}

#[tokio::test]
async fn fault_wrong_password_accepted_changes_it_anyway() {
    let server = start(&[Fault::WrongPasswordAccepted]).await;
    let response = put_alice(&server, body("wrong", NEW_PASSWORD)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.password_of("alice").as_deref(), Some(NEW_PASSWORD));
}

#[tokio::test]
async fn fault_change_not_persisted_answers_200_but_keeps_the_old_password() {
    let server = start(&[Fault::ChangeNotPersisted]).await;
    let response = put_alice(&server, body(ALICE_PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.password_of("alice").as_deref(), Some(ALICE_PASSWORD));
}

#[tokio::test]
async fn fault_invalid_body_accepted_answers_200_when_only_new_password_is_bad() {
    let server = start(&[Fault::InvalidBodyAccepted]).await;
    let only_new = json!({ "current_password": ALICE_PASSWORD, "new_password": null });
    let response = put_alice(&server, only_new.to_string()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(server.password_of("alice").as_deref(), Some(ALICE_PASSWORD));
    let both = answer_of_alice(&server, "{}").await;
    both.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST_DATA");
}

#[tokio::test]
async fn fault_server_error_on_unicode_answers_500() {
    let server = start(&[Fault::ServerErrorOnUnicode]).await;
    let answer = answer_of_alice(&server, body(ALICE_PASSWORD, "pässword")).await;
    answer.error(StatusCode::INTERNAL_SERVER_ERROR, "GENERAL_ERROR");
    assert_eq!(server.password_of("alice").as_deref(), Some(ALICE_PASSWORD));
}

#[tokio::test]
async fn fault_wrong_error_code_puts_an_unknown_code_on_401s() {
    let server = start(&[Fault::WrongErrorCode]).await;
    let unauthorized = put(&server, "alice", None, body(ALICE_PASSWORD, NEW_PASSWORD)).await;
    answer(unauthorized)
        .await
        .error(StatusCode::UNAUTHORIZED, "NOT_A_CODE");
    let forbidden = put(
        &server,
        "bob",
        Some(ALICE),
        body(BOB_PASSWORD, NEW_PASSWORD),
    )
    .await;
    answer(forbidden)
        .await
        .error(StatusCode::FORBIDDEN, "PERMISSION_DENIED");
}

#[tokio::test]
async fn fault_details_not_array_sends_details_as_an_object() {
    let server = start(&[Fault::DetailsNotArray]).await;
    let answer = answer_of_alice(&server, "{}").await;
    let error = answer.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST_DATA");
    assert!(error["details"].is_object());
    assert_eq!(
        error["details"]["new_password"]["error_code"],
        "REQUIRED_VALUE_MISSING"
    );
}

#[tokio::test]
async fn fault_text_plain_errors_labels_400s_as_text() {
    let server = start(&[Fault::TextPlainErrors]).await;
    let answer = answer_of_alice(&server, "{}").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.content_type.as_deref(), Some("text/plain"));
    assert_eq!(answer.json()["error_code"], "INVALID_REQUEST_DATA");
}

#[tokio::test]
async fn fault_body_on_200_sends_a_json_body() {
    let server = start(&[Fault::BodyOn200]).await;
    let answer = answer_of_alice(&server, body(ALICE_PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type.as_deref(), Some("application/json"));
    assert_eq!(answer.json(), json!({ "status": "ok" }));
}

#[tokio::test]
async fn fault_secret_echo_puts_the_submitted_password_in_the_message() {
    let server = start(&[Fault::SecretEcho]).await;
    let answer = answer_of_alice(&server, body("guessed-Wrong1", NEW_PASSWORD)).await;
    let error = answer.error(StatusCode::BAD_REQUEST, "INVALID_REQUEST_DATA");
    let message = error["error_message"].as_str().expect("message");
    assert!(message.contains("guessed-Wrong1"));
}

#[tokio::test]
async fn fault_hang_never_answers_malformed_json_but_shutdown_still_ends() {
    let server = start(&[Fault::Hang]).await;
    let sent = client(Duration::from_millis(300))
        .put(url(&server, "alice"))
        .bearer_auth(ALICE)
        .header(CONTENT_TYPE, "application/json")
        .body("{")
        .send()
        .await;
    assert!(sent.expect_err("no answer").is_timeout());
    let response = put_alice(&server, body(ALICE_PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(response.status(), StatusCode::OK);
    tokio::time::timeout(Duration::from_secs(1), server.shutdown())
        .await
        .expect("shutdown does not wait for the hanging request");
}

#[tokio::test]
async fn fault_old_password_still_works_accepts_the_previous_password() {
    let server = start(&[Fault::OldPasswordStillWorks]).await;
    let first = put_alice(&server, body(ALICE_PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let again = put_alice(&server, body(ALICE_PASSWORD, "an0ther-One")).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(server.password_of("alice").as_deref(), Some("an0ther-One"));
}

#[tokio::test]
async fn fault_change_despite_refusal_answers_403_and_changes_it() {
    let server = start(&[Fault::ChangeDespiteRefusal]).await;
    let response = put(
        &server,
        "alice",
        Some("test-token-alice-admin"),
        body(ALICE_PASSWORD, NEW_PASSWORD),
    )
    .await;
    answer(response)
        .await
        .error(StatusCode::FORBIDDEN, "PERMISSION_DENIED");
    assert_eq!(server.password_of("alice").as_deref(), Some(NEW_PASSWORD));
}

#[tokio::test]
async fn fault_wrong_error_semantics_reports_missing_as_type_without_property() {
    let server = start(&[Fault::WrongErrorSemantics]).await;
    let missing = json!({ "current_password": ALICE_PASSWORD });
    let answer = answer_of_alice(&server, missing.to_string()).await;
    let error = answer.error(StatusCode::BAD_REQUEST, "VALUE_INCORRECT_TYPE");
    assert_eq!(error.get("property"), None);
}

#[tokio::test]
async fn fault_valid_refused_forbids_short_passwords_and_spaces() {
    let server = start(&[Fault::ValidRefused]).await;
    let answer = answer_of_alice(&server, body(ALICE_PASSWORD, "has a space")).await;
    answer.error(StatusCode::FORBIDDEN, "PERMISSION_DENIED");
    let short = answer_of_alice(&server, body(ALICE_PASSWORD, "short")).await;
    short.error(StatusCode::FORBIDDEN, "PERMISSION_DENIED");
    assert_eq!(server.password_of("alice").as_deref(), Some(ALICE_PASSWORD));
}
