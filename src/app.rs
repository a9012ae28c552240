//! `Application::build(settings)`: the one way to start Triage, used by
//! `main` and by the tests (which bind port 0 on a fresh database).

use crate::db::links::PatientLinks;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::ErrorHandlers;
use actix_web::{web, App};
use triage_ground::time::SharedClock;
use triage_ground::time::SystemClock;

use crate::auth::Auth;
use crate::background::{shutdown, Background, DRAIN_SECONDS, SHUTDOWN_BUDGET};

/// How long an idle HTTP keep-alive connection stays open (nginx's default).
pub const KEEP_ALIVE_SECONDS: u64 = 75;
use crate::config::Hospital;
use crate::db::{Db, DbSettings, Synchronous};
use crate::engine::Engine;

/// Everything the server needs to start.
#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub synchronous: Synchronous,
    /// `host:port`; port 0 picks a free one.
    pub bind: String,
    pub workers: usize,
    pub hospital: Hospital,
    /// Run the demo simulation (arrivals and calls).
    pub simulate: bool,
    pub simulation_tick: Duration,
    /// HTTPS on `bind` (and the optional plain-HTTP redirect) when set.
    pub tls: Option<crate::tls::Tls>,
    /// What the server takes as now: the system clock, or a clock set to a
    /// named instant (tests, drills; `TRIAGE_CLOCK`). Every background tick
    /// and every stamp reads it.
    pub clock: SharedClock,
}

impl Settings {
    /// Defaults around a hospital: embedded SQLite file, FULL sync.
    pub fn new(hospital: Hospital, database_url: impl Into<String>) -> Self {
        Settings {
            database_url: database_url.into(),
            synchronous: Synchronous::Full,
            bind: "127.0.0.1:0".into(),
            workers: 2,
            hospital,
            simulate: false,
            simulation_tick: Duration::from_millis(2500),
            tls: None,
            clock: Arc::new(SystemClock),
        }
    }
}

/// A built, not yet running, server.
pub struct Application {
    pub port: u16,
    pub server: Server,
    /// Whether `port` speaks HTTPS.
    pub https: bool,
    /// The plain-HTTP listener redirecting to HTTPS, and its port.
    pub redirect: Option<(Server, u16)>,
    pub engine: Engine,
    pub auth: Auth,
    /// Alerts and fault records.
    pub alerts: crate::alerts::Alerts,
    /// The home of the threads and tasks beside the requests.
    pub background: Arc<Background>,
}

/// The directories whose disks the alert monitor watches: the SQLite
/// database's, the backups', the working directory.
fn watched_disks(settings: &Settings) -> Vec<std::path::PathBuf> {
    let mut dirs = vec![std::path::PathBuf::from(".")];
    if let Some(path) = settings.database_url.strip_prefix("sqlite://") {
        if let Some(parent) = std::path::Path::new(path).parent() {
            dirs.push(parent.to_path_buf());
        }
    }
    dirs.push(settings.hospital.backup.dir.clone());
    // Absolute where they exist (the alert names the directory).
    dirs.into_iter()
        .map(|d| std::fs::canonicalize(&d).unwrap_or(d))
        .collect()
}

/// The listeners and the TLS configuration, bound before anything is
/// started or recorded.
struct Listeners {
    tls: Option<rustls::ServerConfig>,
    listener: TcpListener,
    redirect: Option<TcpListener>,
}

impl Listeners {
    /// A bad certificate or key, or an address in use, stops the start
    /// with the cause named.
    fn bind(settings: &Settings) -> anyhow::Result<Listeners> {
        let tls = settings
            .tls
            .as_ref()
            .map(crate::tls::server_config)
            .transpose()?;
        let listener = TcpListener::bind(&settings.bind)?;
        let redirect = settings
            .tls
            .as_ref()
            .and_then(|t| t.redirect_bind.as_deref())
            .map(crate::tls::redirect_listener)
            .transpose()?;
        Ok(Listeners {
            tls,
            listener,
            redirect,
        })
    }
}

/// The running parts behind the requests.
struct Services {
    engine: Engine,
    auth: Auth,
    alerts: crate::alerts::Alerts,
    background: Arc<Background>,
}

impl Services {
    /// Connects the database (migrating it), rebuilds the engine, starts
    /// accounts and alerts, the background work and this run's record.
    async fn start(settings: &Settings) -> anyhow::Result<Services> {
        let db_settings = DbSettings {
            url: settings.database_url.clone(),
            synchronous: settings.synchronous,
            pool_size: (settings.workers as u32 + 2).max(4),
        };
        let background = Background::new();
        let bg = background.clone();
        let db =
            tokio::task::spawn_blocking(move || Db::connect(&db_settings, bg.as_ref())).await??;
        let clock = settings.clock.clone();
        db.timings().use_clock(clock.clone());
        let hospital = Arc::new(settings.hospital.clone());
        let key = crate::auth::server_key::start(&db, &hospital.security).await?;
        let engine = Engine::start(
            hospital.clone(),
            db.clone(),
            clock.clone(),
            PatientLinks::new(key.derive("patient-link")),
        )
        .await?;
        let db_for_alerts = db.clone();
        let auth = Auth::start(db, clock.clone(), hospital.clone(), key.clone()).await?;
        background.ticks(&engine);
        background.forecasts(&engine);
        if let Some(sender) = crate::webhooks::sender::Sender::new(
            engine.db().clone(),
            hospital.clone(),
            engine.links().clone(),
            clock.clone(),
            crate::webhooks::secrets(&key, hospital.patient.webhook_secret_version),
        ) {
            background.webhooks(&engine, sender);
        }
        background.auth_reload(&auth);
        background.audit_upkeep(&engine);
        let alerts =
            crate::alerts::Alerts::start(db_for_alerts, hospital.clone(), clock.clone(), &key)
                .await?;
        background.alerts(&alerts, &engine, watched_disks(settings));
        background.login_alerts(&auth, &alerts);
        background.backups(&engine, settings.database_url.clone(), Some(alerts.clone()));
        let started = clock.now().naive_utc();
        let run = engine
            .db()
            .write(move |c| crate::ops::timings::start_run(c, started))
            .await?;
        background.operations(&engine, &alerts, run, settings.database_url.clone());
        if settings.simulate {
            background.task(
                "demo-simulation",
                crate::demo::run(engine.clone(), settings.simulation_tick),
            );
        }
        Ok(Services {
            engine,
            auth,
            alerts,
            background,
        })
    }
}

/// What the timing middleware needs to count an answer.
#[derive(Clone)]
struct Observer {
    timings: crate::db::Timings,
    traffic: Arc<crate::alerts::Traffic>,
    traffic_clock: SharedClock,
}

impl Observer {
    /// Counts an answer: the alerts' traffic, the metrics, the server's
    /// own timings.
    fn answered(&self, request: &actix_web::HttpRequest, status: u16, elapsed: Duration) {
        let client = self.client(request);
        let pattern = request.match_pattern();
        self.traffic.answered(status);
        crate::api::metrics::observe(
            request.method().as_str(),
            pattern.as_deref(),
            status,
            &client,
            elapsed.as_secs_f64(),
        );
        // Methods outside HTTP's own are one name (no row per
        // made-up method).
        let method = match request.method().as_str() {
            m @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS") => m,
            _ => "OTHER",
        };
        self.timings.record(
            "http",
            &format!("{method} {}", pattern.as_deref().unwrap_or("(no route)")),
            elapsed,
        );
    }

    /// Who asked: a HIS client by name, else the kind.
    fn client(&self, request: &actix_web::HttpRequest) -> String {
        use actix_web::HttpMessage;
        match request.extensions().get::<crate::auth::policy::Principal>() {
            Some(crate::auth::policy::Principal::Client { name, .. }) => {
                // HIS is alive (the monitor's "HIS silent").
                self.traffic.his_called(self.traffic_clock.now());
                name.clone()
            }
            Some(_) => "staff".to_string(),
            None if request.path().starts_with("/ws/") => "device".to_string(),
            None => "anonymous".to_string(),
        }
    }
}

impl Application {
    /// Connects the database (reporting the real error at once), runs
    /// migrations, rebuilds the engine and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let Listeners {
            tls,
            listener,
            redirect: redirect_listener,
        } = Listeners::bind(&settings)?;
        let Services {
            engine,
            auth,
            alerts,
            background,
        } = Services::start(&settings).await?;
        let port = listener.local_addr()?.port();
        let data = web::Data::new(engine.clone());
        let observer = Observer {
            timings: engine.db().timings().clone(),
            traffic: alerts.traffic.clone(),
            traffic_clock: alerts.clock.clone(),
        };
        let alerts_data = web::Data::new(alerts.clone());
        let auth_data = web::Data::new(auth.clone());
        let https = tls.is_some();
        let served = web::Data::new(crate::listen::Served { https });
        let factory = move || {
            let observer = observer.clone();
            App::new()
                .app_data(data.clone())
                .app_data(auth_data.clone())
                .app_data(alerts_data.clone())
                .app_data(served.clone())
                .wrap(ErrorHandlers::new().default_handler(crate::api::json_errors))
                .wrap(security_headers(https))
                .wrap_fn(move |req, srv| {
                    use actix_web::dev::Service;
                    let started = std::time::Instant::now();
                    let fut = srv.call(req);
                    let observer = observer.clone();
                    async move {
                        let res = fut.await?;
                        observer.answered(res.request(), res.status().as_u16(), started.elapsed());
                        Ok(res)
                    }
                })
                .wrap(tracing_actix_web::TracingLogger::<
                    crate::telemetry::RequestSpan,
                >::new())
                // HEAD works wherever GET does: routed as GET; the HTTP
                // layer, which read a HEAD, sends the headers (with the
                // GET's length) and no body.
                .wrap_fn(|mut req, srv| {
                    use actix_web::dev::Service;
                    if req.method() == actix_web::http::Method::HEAD {
                        req.head_mut().method = actix_web::http::Method::GET;
                    }
                    srv.call(req)
                })
                .configure(crate::api::configure)
                .configure(crate::display::configure)
                .default_service(web::to(crate::api::no_route))
        };
        // An idle keep-alive connection is closed after KEEP_ALIVE_SECONDS.
        // A client that reuses a connection just as the server closes it
        // gets "connection closed" for a request the server never read
        // (actix's default of 5 s made this likely between two HIS calls a
        // few seconds apart); clients should drop idle connections sooner
        // (docs/API.md, "Connections"). SIGTERM and Ctrl-C are ours: see
        // `run_until_stopped`.
        let server = crate::listen::serve(
            factory,
            listener,
            crate::listen::Listen {
                workers: settings.workers.max(1),
                keep_alive: Duration::from_secs(KEEP_ALIVE_SECONDS),
                shutdown_timeout: DRAIN_SECONDS,
                tls,
            },
        )?;
        let redirect = redirect_listener
            .map(|l| crate::tls::redirect_server(l, port))
            .transpose()?;
        Ok(Application {
            port,
            server,
            https,
            redirect,
            engine,
            auth,
            alerts,
            background,
        })
    }

    /// Runs until SIGTERM or Ctrl-C, then shuts down on purpose (see
    /// [`background::shutdown`](crate::background::shutdown)): every
    /// acknowledged command is on disk, every screen told; exits within
    /// [`SHUTDOWN_BUDGET`].
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let running = actix_web::rt::spawn(self.server);
        let redirect = self.redirect.map(|(server, _)| {
            let handle = server.handle();
            (handle, actix_web::rt::spawn(server))
        });
        stop_signal().await?;
        if let Some((handle, _)) = &redirect {
            handle.stop(false).await;
        }
        let stopped = tokio::time::timeout(
            SHUTDOWN_BUDGET,
            shutdown(&self.engine, &handle, &self.background),
        )
        .await;
        if stopped.is_err() {
            tracing::error!("shutdown took longer than its budget; stopping anyway");
        }
        running.abort();
        Ok(())
    }
}

/// The Content Security Policy of every page: scripts, styles and media
/// from this server only (no inline script, no CDN), sockets back to it,
/// never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// How long a browser that saw HTTPS here keeps to it (one year): HSTS.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Headers every answer carries: the content security policy, no framing,
/// no MIME sniffing, no referrer to other sites; when the server serves
/// HTTPS itself, HSTS (a browser then never tries plain HTTP here again;
/// behind a proxy that ends TLS, the proxy sets it: `docs/install.md`).
fn security_headers(https: bool) -> actix_web::middleware::DefaultHeaders {
    let headers = actix_web::middleware::DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"));
    if https {
        headers.add(("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY))
    } else {
        headers
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn stop_signal() -> std::io::Result<()> {
    use actix_web::rt::signal;
    #[cfg(unix)]
    {
        let mut term = signal::unix::signal(signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        signal::ctrl_c().await
    }
}
