//! A small server for specs/inventory.yaml, written for the tests by hand: it shows that
//! specgate drives an operation it knows nothing special about (query, header and path
//! parameters, nested and recursive bodies) and finds a fault in it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

/// Tokens and the scope each holds.
pub const READ_TOKEN: &str = "inventory-read-token";
pub const WRITE_TOKEN: &str = "inventory-write-token";

#[derive(Clone, Default)]
struct Store {
    items: Arc<Mutex<BTreeMap<String, Value>>>,
    /// The one fault: a negative price is accepted.
    accept_negative_price: bool,
}

/// The server on its own runtime, alive as long as this value.
pub struct Inventory {
    pub url: String,
    /// Requests in flight now, and the most there ever were at once.
    in_flight: Arc<(AtomicUsize, AtomicUsize)>,
    _runtime: tokio::runtime::Runtime,
}

impl Inventory {
    /// The most requests the server ever had in flight at the same time.
    pub fn peak_in_flight(&self) -> usize {
        self.in_flight.1.load(Ordering::SeqCst)
    }
}

pub fn start(accept_negative_price: bool) -> Inventory {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let store = Store {
        accept_negative_price,
        ..Store::default()
    };
    let in_flight: Arc<(AtomicUsize, AtomicUsize)> = Arc::default();
    let counters = in_flight.clone();
    let app = Router::new()
        .route("/items", get(list).post(create))
        .route("/items/{item_id}", get(fetch))
        .fallback(|| async { problem(StatusCode::NOT_FOUND, "not found") })
        // Each request is held a millisecond, so that requests sent together overlap here.
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let counters = counters.clone();
                async move {
                    let now = counters.0.fetch_add(1, Ordering::SeqCst) + 1;
                    counters.1.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    let response = next.run(request).await;
                    counters.0.fetch_sub(1, Ordering::SeqCst);
                    response
                }
            },
        ))
        // The handler refuses large bodies itself, with the spec's 400.
        .layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024))
        .with_state(store);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("127.0.0.1:0 binds");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    runtime.spawn(async move { axum::serve(listener, app).await });
    Inventory {
        url,
        in_flight,
        _runtime: runtime,
    }
}

fn problem(status: StatusCode, title: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "title": title }).to_string(),
    )
        .into_response()
}

/// The refusal a request gets: 401 without a known token, 403 without the scope.
fn refusal(headers: &HeaderMap, needed: &str) -> Option<Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match token {
        Some(READ_TOKEN) if needed == READ_TOKEN => None,
        Some(WRITE_TOKEN) if needed == WRITE_TOKEN => None,
        Some(READ_TOKEN | WRITE_TOKEN) => Some(problem(StatusCode::FORBIDDEN, "scope missing")),
        _ => Some(problem(StatusCode::UNAUTHORIZED, "no valid token")),
    }
}

const TAGS: [&str; 3] = ["red", "green", "blue"];

async fn list(State(store): State<Store>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let query: BTreeMap<String, String> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    if let Some(refusal) = refusal(&headers, READ_TOKEN) {
        return refusal;
    }
    let limit = match query.get("limit").map(|raw| raw.parse::<u64>()) {
        None => 50,
        Some(Ok(limit)) if (1..=50).contains(&limit) => limit as usize,
        Some(_) => return problem(StatusCode::BAD_REQUEST, "limit must be 1 to 50"),
    };
    let tag = query.get("tag");
    if tag.is_some_and(|tag| !TAGS.contains(&tag.as_str())) {
        return problem(StatusCode::BAD_REQUEST, "unknown tag");
    }
    let items: Vec<Value> = store
        .items
        .lock()
        .map(|items| {
            items
                .values()
                .filter(|item| {
                    tag.is_none_or(|tag| {
                        item["tags"]
                            .as_array()
                            .is_some_and(|tags| tags.contains(&json!(tag)))
                    })
                })
                .take(limit)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Value::Array(items).to_string(),
    )
        .into_response()
}

async fn create(State(store): State<Store>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refusal) = refusal(&headers, WRITE_TOKEN) {
        return refusal;
    }
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !json_type || body.len() > 1024 * 1024 {
        return problem(StatusCode::BAD_REQUEST, "a JSON body of at most 1 MiB");
    }
    let Ok(input) = serde_json::from_slice::<Value>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "malformed JSON");
    };
    if let Err(reason) = check_item(&input, store.accept_negative_price) {
        return problem(StatusCode::BAD_REQUEST, &reason);
    }
    let mut item = input;
    let Ok(mut items) = store.items.lock() else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "store unavailable");
    };
    let id = format!("00000000-0000-4000-8000-{:012x}", items.len() + 1);
    item["id"] = json!(id);
    items.insert(id, item.clone());
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        item.to_string(),
    )
        .into_response()
}

async fn fetch(
    State(store): State<Store>,
    headers: HeaderMap,
    Path(item_id): Path<String>,
) -> Response {
    if let Some(refusal) = refusal(&headers, READ_TOKEN) {
        return refusal;
    }
    let item = store
        .items
        .lock()
        .ok()
        .and_then(|items| items.get(&item_id).cloned());
    match item {
        Some(item) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            item.to_string(),
        )
            .into_response(),
        None => problem(StatusCode::NOT_FOUND, "no such item"),
    }
}

/// `ItemInput` of the spec, checked by hand.
fn check_item(input: &Value, accept_negative_price: bool) -> Result<(), String> {
    let object = input.as_object().ok_or("the body must be an object")?;
    for key in object.keys() {
        if !["name", "price", "tags", "dimensions", "category"].contains(&key.as_str()) {
            return Err(format!("unexpected property {key}"));
        }
    }
    let name = object
        .get("name")
        .and_then(Value::as_str)
        .ok_or("name is required")?;
    if !(1..=40).contains(&name.chars().count()) {
        return Err("name must have 1 to 40 characters".into());
    }
    let price = object
        .get("price")
        .and_then(Value::as_f64)
        .ok_or("price is required")?;
    if price < 0.0 && !accept_negative_price {
        return Err("price must not be negative".into());
    }
    if let Some(tags) = object.get("tags") {
        let tags = tags.as_array().ok_or("tags must be an array")?;
        let mut seen = Vec::new();
        for tag in tags {
            let tag = tag
                .as_str()
                .filter(|tag| TAGS.contains(tag))
                .ok_or("unknown tag")?;
            if seen.contains(&tag) {
                return Err("tags must be unique".into());
            }
            seen.push(tag);
        }
        if tags.len() > 5 {
            return Err("at most 5 tags".into());
        }
    }
    if let Some(dimensions) = object.get("dimensions") {
        for side in ["width", "height"] {
            let value = dimensions.get(side).and_then(Value::as_f64);
            if !value.is_some_and(|value| value >= 0.0) {
                return Err(format!("dimensions.{side} must be a number of at least 0"));
            }
        }
    }
    if let Some(category) = object.get("category") {
        check_category(category, 0)?;
    }
    Ok(())
}

fn check_category(category: &Value, depth: usize) -> Result<(), String> {
    if depth > 32 {
        return Err("categories nest too deep".into());
    }
    let name = category
        .get("name")
        .and_then(Value::as_str)
        .ok_or("a category needs a name")?;
    if name.is_empty() {
        return Err("a category name must not be empty".into());
    }
    if let Some(children) = category.get("children") {
        let children = children.as_array().ok_or("children must be an array")?;
        if children.len() > 3 {
            return Err("at most 3 children".into());
        }
        for child in children {
            check_category(child, depth + 1)?;
        }
    }
    Ok(())
}
