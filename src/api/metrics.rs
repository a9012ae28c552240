//! `GET /metrics`: OpenMetrics text through `prometheus-client` (ADR 0007).
//! Counters and histograms live in statics updated where things happen
//! (HTTP below, the writer in `db::writer`, calls in `triage_actors::
//! metrics`); gauges are read at each scrape (queues, screens, rooms, the
//! pool, the outbox, faults). No label ever carries personal data: routes
//! are patterns (`/api/v1/registrations/:visit_no`), clients are HIS
//! client names or a role.

use std::sync::atomic::Ordering;
use std::sync::LazyLock;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::engine::Engine;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    /// `2xx`, `4xx`, `5xx`.
    status: String,
    /// A HIS client's name, `staff`, `device` or `anonymous`.
    client: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

static HTTP_REQUESTS: LazyLock<Family<HttpLabels, Counter>> = LazyLock::new(Family::default);
static HTTP_SECONDS: LazyLock<Family<RouteLabels, Histogram>> = LazyLock::new(|| {
    Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 14)))
});

/// Counts a response: its class, route, client and how long it took.
pub fn observe(method: &str, route: Option<&str>, status: u16, client: &str, seconds: f64) {
    let class = match status {
        100..=199 => "1xx",
        200..=399 => "2xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    // Methods outside HTTP's own are one label (no unbounded cardinality).
    let method = match method {
        "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" => method,
        _ => "other",
    };
    // Paths that matched no route are one label (no unbounded cardinality);
    // `{room}` is written `:room` (simpler to select in PromQL).
    let route = route
        .unwrap_or("unmatched")
        .replace('{', ":")
        .replace('}', "");
    HTTP_REQUESTS
        .get_or_create(&HttpLabels {
            method: method.to_string(),
            route: route.clone(),
            status: class.into(),
            client: client.to_string(),
        })
        .inc();
    HTTP_SECONDS
        .get_or_create(&RouteLabels {
            method: method.to_string(),
            route,
        })
        .observe(seconds);
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

fn gauge_family<
    L: EncodeLabelSet + Clone + std::hash::Hash + Eq + std::fmt::Debug + Send + Sync + 'static,
>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    values: Vec<(L, i64)>,
) {
    let family = Family::<L, Gauge>::default();
    for (labels, v) in values {
        family.get_or_create(&labels).set(v);
    }
    registry.register(name, help, family);
}

fn gauge(registry: &mut Registry, name: &str, help: &str, v: i64) {
    let g = Gauge::<i64>::default();
    g.set(v);
    registry.register(name, help, g);
}

/// OpenMetrics text as the classic Prometheus text format (0.0.4): a
/// counter's HELP and TYPE name its `_total` sample, and the `# UNIT` and
/// `# EOF` lines, which that format does not have, are left out.
fn classic_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Whether a request may read `/metrics`: always, unless `[security]
/// metrics_token_sha256` is set; then only with that token as its bearer.
fn metrics_allowed(req: &HttpRequest, engine: &Engine) -> bool {
    let Some(want) = engine.hospital().security.metrics_token_sha256.as_deref() else {
        return true;
    };
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, token)| {
            triage_ground::secret::same(
                &triage_ground::secret::sha256_hex(token.trim().as_bytes()),
                &want.to_ascii_lowercase(),
            )
        })
}

#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "OpenMetrics text when asked for it (Accept: application/openmetrics-text, as Prometheus asks), the classic Prometheus text format otherwise (promtool check metrics passes): queues (waiting, longest wait), screens by state, rooms, call-to-broadcast latency, HTTP requests/errors/latency per route and client, database pool, errors, writer batch size and commit time, outbox depth, patient webhooks waiting and the oldest's age, faults by state"),
              (status = 401, description = "unauthenticated: `[security] metrics_token_sha256` is set and the request does not carry that token as `Authorization: Bearer`", body = crate::api::error::ErrorBody)))]
pub async fn metrics(
    req: HttpRequest,
    engine: web::Data<Engine>,
    alerts: web::Data<crate::alerts::Alerts>,
) -> HttpResponse {
    if !metrics_allowed(&req, &engine) {
        return actix_web::ResponseError::error_response(&crate::api::error::ApiError::from(
            triage_ground::error::Error::new(
                triage_ground::error::ErrorCode::Unauthenticated,
                "/metrics 需要监控令牌：Authorization: Bearer <令牌>（见 docs/monitoring/README.md）",
            ),
        ));
    }
    let mut r = Registry::with_prefix("triage");
    gauge(&mut r, "up", "The server is running", 1);
    let now = engine.now();
    register_queues(&mut r, &engine, now).await;
    register_rooms(&mut r, &engine);
    register_screens(&mut r, &engine, &alerts, now);
    register_latencies(&mut r);
    register_database(&mut r, &engine);
    register_alerts(&mut r, &alerts).await;
    register_webhooks(&mut r, &engine, now).await;
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &r).is_err() {
        return HttpResponse::InternalServerError().finish();
    }
    // Prometheus asks for OpenMetrics; anything else (promtool, curl, older
    // scrapers) gets the classic text format, whose HELP and TYPE lines
    // name a counter by its sample (`…_total`).
    let openmetrics = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    if openmetrics {
        HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(out)
    } else {
        HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(classic_text(&out))
    }
}

/// Queues: waiting and the longest wait (seconds).
async fn register_queues(r: &mut Registry, engine: &Engine, now: DateTime<Utc>) {
    let mut waiting = Vec::new();
    let mut longest = Vec::new();
    for q in &engine.hospital().queues {
        let labels = QueueLabels {
            queue: q.code.to_string(),
        };
        waiting.push((
            labels.clone(),
            engine.directory().queue_board(&q.code).waiting as i64,
        ));
        let wait = match triage_ground::ids::QueueCode::parse(&q.code) {
            Ok(code) => engine
                .list_queue(&code)
                .await
                .ok()
                .and_then(|l| l.entries.iter().map(|e| e.checked_in_at).min())
                .map_or(0, |t| (now - t).num_seconds().max(0)),
            Err(_) => 0,
        };
        longest.push((labels, wait));
    }
    gauge_family(r, "queue_waiting", "Patients waiting per queue", waiting);
    gauge_family(
        r,
        "queue_longest_wait_seconds",
        "The longest wait in each queue, seconds",
        longest,
    );
}

/// Rooms by status.
fn register_rooms(r: &mut Registry, engine: &Engine) {
    let mut rooms: std::collections::BTreeMap<String, i64> = Default::default();
    for room in &engine.hospital().rooms {
        if let Some(v) = engine.directory().room_view(&room.code, 0) {
            *rooms.entry(v.status.as_str().to_string()).or_default() += 1;
        }
    }
    gauge_family(
        r,
        "rooms",
        "Rooms by status",
        rooms
            .into_iter()
            .map(|(state, n)| (StateLabels { state }, n))
            .collect(),
    );
}

/// Screens by state.
fn register_screens(
    r: &mut Registry,
    engine: &Engine,
    alerts: &crate::alerts::Alerts,
    now: DateTime<Utc>,
) {
    let offline_after = alerts.hospital.alerts.screen_offline_seconds as i64;
    let mut screens: std::collections::BTreeMap<&str, i64> =
        ["online", "reconnecting", "offline", "never_seen"]
            .into_iter()
            .map(|s| (s, 0))
            .collect();
    for s in engine.screens() {
        let p = engine.directory().presence(&s.code);
        let last = crate::alerts::monitor::last_seen_of(alerts, &s.code, p.last_seen);
        let state = if p.sessions > 0 {
            "online"
        } else {
            match last {
                None => "never_seen",
                Some(t) if (now - t).num_seconds() >= offline_after => "offline",
                Some(_) => "reconnecting",
            }
        };
        *screens.entry(state).or_default() += 1;
    }
    gauge_family(
        r,
        "screens",
        "Screens by state",
        screens
            .into_iter()
            .map(|(state, n)| {
                (
                    StateLabels {
                        state: state.into(),
                    },
                    n,
                )
            })
            .collect(),
    );
}

/// The call-to-broadcast and HTTP counters and histograms.
fn register_latencies(r: &mut Registry) {
    r.register(
        "call_to_broadcast_seconds",
        "Seconds from a room's call command to the frame sent to its screens",
        triage_ground::metrics::CALL_TO_BROADCAST.clone(),
    );
    r.register(
        "http_requests",
        "HTTP requests by route, status class and client",
        HTTP_REQUESTS.clone(),
    );
    r.register(
        "http_request_duration_seconds",
        "HTTP request latency by route",
        HTTP_SECONDS.clone(),
    );
}

/// The database: the pool and the writer.
fn register_database(r: &mut Registry, engine: &Engine) {
    let state = engine.db().pool().state();
    gauge(
        r,
        "db_pool_connections",
        "Connections the pool holds",
        i64::from(state.connections),
    );
    gauge(
        r,
        "db_pool_idle",
        "Idle connections in the pool",
        i64::from(state.idle_connections),
    );
    use crate::db::writer::{BATCH_SIZE, COMMITS, COMMIT_SECONDS, DB_ERRORS, WRITES};
    let counter = |v: u64| {
        let c = Counter::<u64>::default();
        c.inc_by(v);
        c
    };
    r.register(
        "db_writes",
        "Writes committed by the database writer",
        counter(WRITES.load(Ordering::Relaxed)),
    );
    r.register(
        "db_commits",
        "Group commits made by the database writer",
        counter(COMMITS.load(Ordering::Relaxed)),
    );
    r.register(
        "db_errors",
        "Database reads and writes that failed for the database's sake",
        DB_ERRORS.clone(),
    );
    r.register(
        "db_writer_batch_size",
        "Requests per group commit",
        BATCH_SIZE.clone(),
    );
    r.register(
        "db_commit_seconds",
        "Seconds a group commit takes",
        COMMIT_SECONDS.clone(),
    );
}

/// Patient webhooks: how many wait to be sent and the oldest's age.
async fn register_webhooks(r: &mut Registry, engine: &Engine, now: DateTime<Utc>) {
    if let Ok((n, oldest)) = engine.db().read(crate::db::webhooks::backlog).await {
        gauge(
            r,
            "patient_webhook_backlog",
            "Patient webhooks not taken by the hospital's gateway yet",
            n,
        );
        gauge(
            r,
            "patient_webhook_oldest_seconds",
            "Age of the oldest patient webhook not taken yet (0: none)",
            oldest.map_or(0, |t| (now.naive_utc() - t).num_seconds().max(0)),
        );
    }
}

/// Alerts: the outbox and fault records.
async fn register_alerts(r: &mut Registry, alerts: &crate::alerts::Alerts) {
    let counts = alerts
        .db
        .read(|c| {
            Ok((
                crate::alerts::store::depth(c)?,
                crate::alerts::store::count_by_state(c)?,
            ))
        })
        .await;
    if let Ok((depth, by_state)) = counts {
        gauge(
            r,
            "alert_outbox_depth",
            "Alert messages not sent yet",
            depth,
        );
        let mut all: std::collections::BTreeMap<String, i64> =
            ["opened", "acknowledged", "resolved", "archived"]
                .into_iter()
                .map(|s| (s.to_string(), 0))
                .collect();
        all.extend(by_state);
        gauge_family(
            r,
            "faults",
            "Fault records by state",
            all.into_iter()
                .map(|(state, n)| (StateLabels { state }, n))
                .collect(),
        );
    }
}
