//! The drill (应急演练, `triage drill`): the technical steps of the emergency
//! plan (`docs/emergency-plan.zh.md`) timed on a scratch copy, never on the
//! live database. The newest backup (or one taken now, when there is none)
//! is verified, restored into a scratch copy, the engine started on it as
//! after a real restore, its queues checked against the rows they come
//! from, and the manual-triage lists drawn from it; the copy is removed.
//! The report (Markdown and HTML, in the reports directory) states each
//! step with its time and result, the total against the 4-hour recovery
//! goal, the lists, and the steps people take that a program cannot time.

use crate::db::links::PatientLinks;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::backups;
use crate::config::Hospital;
use crate::db::{AnyConnection, Db, DbError, DbSettings, Spawner, Synchronous};
use crate::engine::Engine;
use crate::report::Doc;

/// The hospital's recovery goal: the system running again within 4 hours.
pub const RECOVERY_GOAL: Duration = Duration::from_secs(4 * 3600);

/// One timed step.
#[derive(Clone, Debug)]
pub struct Step {
    pub name: &'static str,
    pub ok: bool,
    pub took: Duration,
    pub detail: String,
}

/// A queue's list as the nurses would print it: ticket and masked name, in
/// calling order.
#[derive(Clone, Debug)]
pub struct List {
    pub queue: String,
    pub rows: Vec<(usize, String, String)>,
}

/// What a drill did.
#[derive(Clone, Debug)]
pub struct Drill {
    pub at: DateTime<Utc>,
    pub steps: Vec<Step>,
    pub lists: Vec<List>,
    /// The Markdown report (the HTML one beside it).
    pub report: PathBuf,
}

impl Drill {
    /// Every step passed.
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.ok)
    }

    /// Every step passed within the recovery goal.
    pub fn within_goal(&self) -> bool {
        self.ok() && self.total() <= RECOVERY_GOAL
    }

    /// The technical steps' time together.
    pub fn total(&self) -> Duration {
        self.steps.iter().map(|s| s.took).sum()
    }
}

/// Runs the drill on the database at `url` (only read: its newest backup is
/// used, or one is taken) and writes its report.
pub fn run(
    url: &str,
    hospital: &Hospital,
    now: DateTime<Utc>,
    spawner: &dyn Spawner,
) -> Result<Drill, DbError> {
    let mut steps = Vec::new();
    let mut lists = Vec::new();
    let timed =
        |name: &'static str, steps: &mut Vec<Step>, f: &mut dyn FnMut() -> (bool, String)| {
            let t = Instant::now();
            let (ok, detail) = f();
            steps.push(Step {
                name,
                ok,
                took: t.elapsed(),
                detail,
            });
            ok
        };
    // 1. The backup to restore: the newest kept, or one taken now.
    let mut taken_dir: Option<PathBuf> = None;
    let mut file: Option<PathBuf> = None;
    let found = timed("找到最新备份", &mut steps, &mut || match newest_or_taken(
        url,
        hospital,
        now,
        &mut taken_dir,
    ) {
        Ok((f, detail)) => {
            file = Some(f);
            (true, detail)
        }
        Err(e) => (false, format!("没有可用的备份：{e}")),
    });
    let file = file.filter(|_| found);
    // 2. Its verification (checksum, a restore, integrity, the audit chain).
    let verified = file
        .as_ref()
        .is_some_and(|f| timed("校验备份", &mut steps, &mut || verify(f, url, now)));
    // 3. Restored where nothing uses it.
    let mut scratch = None;
    if let (true, Some(f)) = (verified, file.as_ref()) {
        timed(
            "恢复到演练副本",
            &mut steps,
            &mut || match backups::scratch_copy(f, url) {
                Ok(copy) => {
                    let detail = match copy.url.split_once("://") {
                        Some(("sqlite", _)) => "已恢复到临时 SQLite 文件（不触碰正在使用的数据库）".to_string(),
                        _ => "已用 pg_restore 恢复到同一服务器上的临时数据库（不触碰正在使用的数据库）".to_string(),
                    };
                    scratch = Some(copy);
                    (true, detail)
                }
                Err(e) => (false, e.to_string()),
            },
        );
    }
    // 4 and 5. The engine started on the copy; the lists drawn from it.
    if let Some(copy) = &scratch {
        let (start, drawn) = started_on(&copy.url, hospital, spawner);
        steps.push(start);
        if let Some((step, drawn)) = drawn {
            steps.push(step);
            lists = drawn;
        }
    }
    // 6. The copy removed.
    if scratch.is_some() {
        timed(
            "删除演练副本",
            &mut steps,
            &mut || match scratch.take().map(|c| c.remove()) {
                Some(Err(e)) => (false, e),
                _ => (true, "演练副本已删除".to_string()),
            },
        );
    }
    if let Some(dir) = taken_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    let mut drill = Drill {
        at: now,
        steps,
        lists,
        report: PathBuf::new(),
    };
    let stem = format!(
        "drill-{}",
        now.with_timezone(&triage_ground::time::shanghai())
            .format("%Y%m%d-%H%M%S")
    );
    let (md, _) = report(&drill, hospital)
        .write(&hospital.operations.reports_dir, &stem)
        .map_err(|e| DbError::Unavailable(format!("cannot write the drill report: {e}")))?;
    drill.report = md;
    Ok(drill)
}

/// The newest backup kept by `[backup]`, or one taken now into a folder of
/// the drill's own (the backup set is not changed).
fn newest_or_taken(
    url: &str,
    hospital: &Hospital,
    now: DateTime<Utc>,
    taken_dir: &mut Option<PathBuf>,
) -> Result<(PathBuf, String), DbError> {
    let policy = &hospital.backup;
    if let Some(k) = backups::list(&policy.dir)?.pop() {
        let at = k
            .taken_at
            .with_timezone(&triage_ground::time::shanghai())
            .format("%Y-%m-%d %H:%M");
        return Ok((k.file.clone(), format!("{}（{at} 取得）", k.file.display())));
    }
    // Beside the reports (the hospital's own disk, not a shared /tmp),
    // removed after the drill.
    let dir = hospital.operations.reports_dir.join(format!(
        "drill-backup-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let mut own = policy.clone();
    own.dir = dir.clone();
    own.second_dir = None;
    *taken_dir = Some(dir);
    let (file, _) = backups::take(url, &own, now, &mut |_| {})?;
    Ok((
        file,
        format!(
            "{} 中没有备份，当场取得一份（演练后删除，不计入备份集）",
            policy.dir.display()
        ),
    ))
}

fn verify(file: &std::path::Path, url: &str, now: DateTime<Utc>) -> (bool, String) {
    let scratch_url = url.starts_with("postgres").then_some(url);
    match backups::verify(file, scratch_url, now) {
        Ok(r) => {
            let failed: Vec<String> = r
                .checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| format!("{}：{}", c.what, c.detail))
                .collect();
            if failed.is_empty() {
                (
                    true,
                    format!(
                        "{} 项检查全部通过（校验和、恢复、完整性、审计链、行数）",
                        r.checks.len()
                    ),
                )
            } else {
                (false, failed.join("；"))
            }
        }
        Err(e) => (false, e.to_string()),
    }
}

/// Starts the engine on the copy as a server would after a restore, checks
/// that its queues hold every waiting visit of the copy, and draws the
/// lists (a second step, timed apart).
fn started_on(
    url: &str,
    hospital: &Hospital,
    spawner: &dyn Spawner,
) -> (Step, Option<(Step, Vec<List>)>) {
    let t = Instant::now();
    let settings = DbSettings {
        url: url.to_string(),
        synchronous: Synchronous::Full,
        pool_size: 2,
    };
    let hospital = std::sync::Arc::new(hospital.clone());
    let out = actix::System::new().block_on(async move {
        let db = Db::connect(&settings, spawner).map_err(|e| e.to_string())?;
        let clock = triage_ground::time::program_clock()?;
        let engine = Engine::start(hospital, db.clone(), clock, PatientLinks::ephemeral())
            .await
            .map_err(|e| e.to_string())?;
        let started = t.elapsed();
        let stored = db.read(waiting_rows).await.map_err(|e| e.to_string())?;
        let t2 = Instant::now();
        let lists = lists_of(&engine).await;
        let drawn = t2.elapsed();
        db.stop_writer().await;
        Ok::<_, String>((started, stored, lists, drawn))
    });
    match out {
        Ok((started, stored, lists, drawn)) => {
            let held: usize = lists.iter().map(|l| l.rows.len()).sum();
            let start = Step {
                name: "在副本上启动叫号引擎",
                ok: held as i64 == stored,
                took: started,
                detail: if held as i64 == stored {
                    format!("队列已按数据库重建：{held} 位候诊患者，与副本中的记录一致")
                } else {
                    format!("队列中 {held} 位候诊患者，副本中记录 {stored} 位：不一致")
                },
            };
            let draw = Step {
                name: "生成手工分诊名单",
                ok: true,
                took: drawn,
                detail: format!("{} 个队列的名单（见下）", lists.len()),
            };
            (start, Some((draw, lists)))
        }
        Err(e) => (
            Step {
                name: "在副本上启动叫号引擎",
                ok: false,
                took: t.elapsed(),
                detail: e,
            },
            None,
        ),
    }
}

fn waiting_rows(c: &mut AnyConnection) -> Result<i64, DbError> {
    use crate::db::schema::visits;
    use diesel::prelude::*;
    use triage_actors::model::VisitStatus;
    Ok(visits::table
        .filter(visits::status.eq(VisitStatus::Waiting))
        .count()
        .get_result(c)?)
}

async fn lists_of(engine: &Engine) -> Vec<List> {
    let mut out = Vec::new();
    for q in &engine.hospital().queues {
        let Some(addr) = engine.directory().queues.get(&q.code).map(|a| a.clone()) else {
            continue;
        };
        let Ok(view) = addr.send(triage_actors::staff::StaffQueue).await else {
            continue;
        };
        out.push(List {
            queue: q.name.clone(),
            rows: view
                .entries
                .iter()
                .map(|e| (e.position, e.ticket_no.clone(), e.masked_name.clone()))
                .collect(),
        });
    }
    out
}

fn minutes(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} 毫秒", d.as_millis())
    } else {
        format!("{:.1} 秒", d.as_secs_f64())
    }
}

/// The report: the steps, the conclusion, the lists, the untimed steps.
pub fn report(d: &Drill, hospital: &Hospital) -> Doc {
    let mut doc = Doc::new(format!("应急演练报告（{}）", hospital.name));
    doc.para(format!(
        "演练时间：{}（北京时间）。按《应急预案》（docs/emergency-plan.zh.md）第五节的技术步骤，在演练副本上执行并计时；正在使用的数据库未被改动。",
        d.at.with_timezone(&triage_ground::time::shanghai())
            .format("%Y-%m-%d %H:%M:%S")
    ));
    doc.heading("演练步骤与用时");
    doc.table(
        &["步骤", "结果", "用时", "说明"],
        d.steps
            .iter()
            .map(|s| {
                vec![
                    s.name.to_string(),
                    if s.ok { "通过" } else { "未通过" }.to_string(),
                    minutes(s.took),
                    s.detail.clone(),
                ]
            })
            .collect(),
    );
    doc.heading("结论");
    let total = d.total();
    doc.para(if d.ok() && total <= RECOVERY_GOAL {
        format!(
            "技术步骤全部通过，合计用时 {}，在 4 小时恢复目标之内（余 {:.1} 小时用于通知、停机、补录等人工步骤）。",
            minutes(total),
            RECOVERY_GOAL.saturating_sub(total).as_secs_f64() / 3600.0
        )
    } else if d.ok() {
        format!(
            "技术步骤全部通过，但合计用时 {}，超出 4 小时恢复目标：请改进恢复步骤（更快的磁盘、PostgreSQL 流复制）后重新演练。",
            minutes(total)
        )
    } else {
        format!(
            "有步骤未通过（见上表），合计用时 {}：按“说明”一栏处理后重新演练；在此之前，真实故障时无法按预案从备份恢复。",
            minutes(total)
        )
    });
    doc.heading("手工分诊名单（演练副本）");
    if d.lists.iter().all(|l| l.rows.is_empty()) {
        doc.para(
            "演练副本中没有候诊患者（备份取于无人候诊时）。真实故障时按分诊台打印的名单叫号。",
        );
    }
    for l in d.lists.iter().filter(|l| !l.rows.is_empty()) {
        doc.para(format!("{}（{} 人）", l.queue, l.rows.len()));
        doc.table(
            &["序号", "票号", "姓名"],
            l.rows
                .iter()
                .map(|(p, t, n)| vec![p.to_string(), t.clone(), n.clone()])
                .collect(),
        );
    }
    doc.heading("未计时的步骤");
    doc.list(vec![
        "信息科值班 5 分钟内判断故障级别，按联络链电话通知门诊部、护士长和厂商（第二节）".into(),
        "各分诊台打印候诊名单，按名单口头叫号，新到患者手写登记（第三节）".into(),
        "损坏屏幕的诊室改配到附近屏幕，或换上备用屏幕并重新生成令牌（第四节）".into(),
        "恢复后补录手工分诊期间的就诊，写故障报告（第五节第 5、6 步）".into(),
    ]);
    doc
}
