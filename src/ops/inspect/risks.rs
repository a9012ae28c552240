//! The risks an inspection's figures show, each with what to do: backups
//! and verifications, maintenance and ledgers, the audit chain and faults,
//! screens, waits, slow endpoints and the backup disk.

use super::model::{Inspection, Level, Risk, ScreenHistory, SecondCopy};
use crate::config::Hospital;
use crate::ops::maintain::human_bytes;

/// The risks the figures show, most serious first.
pub fn risks(i: &Inspection, hospital: &Hospital) -> Vec<Risk> {
    let mut out = Vec::new();
    backup_risks(&mut out, i);
    maintenance_risks(&mut out, i, hospital);
    audit_and_fault_risks(&mut out, i);
    screen_risks(&mut out, i);
    load_risks(&mut out, i, hospital);
    if let Some(deep) = &i.deep {
        deep_risks(&mut out, deep);
    }
    out.sort_by_key(|r| r.level);
    out
}

/// One risk found, with its recommendation.
fn push(out: &mut Vec<Risk>, level: Level, finding: String, recommendation: &str) {
    out.push(Risk {
        level,
        finding,
        recommendation: recommendation.to_string(),
    })
}

/// No backup or an old one, a failed or missing verification, days of the
/// month without a verified backup, no second location.
fn backup_risks(out: &mut Vec<Risk>, i: &Inspection) {
    let now = i.at;
    match i.backups.last() {
        None => push(
            out,
            Level::High,
            "没有任何备份 no backup at all".into(),
            "检查 [backup] at 与备份目录权限，立即执行 triage backup 并校验。",
        ),
        Some(b) if (now - b.taken_at).num_hours() > 26 => push(
            out,
            Level::High,
            format!(
                "最新备份已 {} 小时 the newest backup is {} hours old",
                (now - b.taken_at).num_hours(),
                (now - b.taken_at).num_hours()
            ),
            "检查每日备份任务（服务器日志 daily backup），立即手动备份。",
        ),
        Some(_) => {}
    }
    match &i.last_verification {
        Some(v) if !v.ok => push(
            out,
            Level::High,
            format!(
                "最近一次备份校验失败 the last verification failed: {}",
                v.summary
            ),
            "按运维手册重新备份并校验；保留失败的备份以便分析。",
        ),
        None => push(
            out,
            Level::High,
            "没有备份校验记录 no verification on record".into(),
            "执行 triage backup verify，并确认每日备份后的自动校验在运行。",
        ),
        _ => {}
    }
    if let Some(m) = &i.month {
        if !m.missing.is_empty() {
            push(
                out,
                Level::Medium,
                format!(
                    "本月 {} 天没有经校验的备份 {} days this month without a verified backup",
                    m.missing.len(),
                    m.missing.len()
                ),
                "查看月度校验报告中缺失的日期及当日服务器日志。",
            );
        }
    }
    match &i.second_location {
        SecondCopy::Verified(_) => {}
        SecondCopy::NotConfigured => push(
            out,
            Level::Medium,
            "备份只在本机磁盘 backups are on this server's disk only".into(),
            "在 [backup] second_dir 配置一个挂载的网络存储（NAS）。",
        ),
        other => push(
            out,
            Level::High,
            format!("异地副本不可用 second copy unusable: {}", other.said()),
            "检查第二位置（网络存储）是否已挂载、可写，然后手动执行 triage backup 并核对。",
        ),
    }
}

/// No or an old maintenance, ledgers not read whole, a failed step.
fn maintenance_risks(out: &mut Vec<Risk>, i: &Inspection, hospital: &Hospital) {
    let now = i.at;
    match &i.last_maintenance {
        None => push(
            out,
            Level::Medium,
            "没有数据库维护记录 no database maintenance on record".into(),
            "在维护窗口执行 triage db maintain（每季度至少一次）。",
        ),
        Some(m)
            if (now - m.at).num_days() > i64::from(hospital.operations.maintain_every_days) + 7 =>
        {
            push(
                out,
                Level::Medium,
                format!(
                    "上次数据库维护在 {} 天前 the last maintenance was {} days ago",
                    (now - m.at).num_days(),
                    (now - m.at).num_days()
                ),
                "在维护窗口执行 triage db maintain。",
            )
        }
        _ => {}
    }
    if !i.unreadable_ledgers.is_empty() {
        push(
            out,
            Level::Medium,
            format!(
                "台账无法完整读取 ledgers not read whole: {}",
                i.unreadable_ledgers.join("; ")
            ),
            "检查文件权限与磁盘；本报告中的校验与维护记录可能不全。",
        );
    }
    if i.last_maintenance.as_ref().is_some_and(|m| !m.ok) {
        push(
            out,
            Level::Medium,
            "上次数据库维护有步骤失败 a step of the last maintenance failed".into(),
            "查看该次维护报告中失败的步骤，处理后重新执行 triage db maintain。",
        );
    }
}

/// The audit chain broken, faults still open or acknowledged slowly,
/// unclean stops.
fn audit_and_fault_risks(out: &mut Vec<Risk>, i: &Inspection) {
    if !i.audit_intact {
        push(
            out,
            Level::High,
            format!("审计链异常 the audit chain is not intact: {}", i.audit),
            "立即保全数据库与备份，按安全手册核查被修改或删除的记录。",
        );
    }
    if i.faults.open_now > 0 {
        push(
            out,
            Level::Medium,
            format!("{} 个故障仍未解决 faults still open", i.faults.open_now),
            "在控制台“故障”中处理并关闭。",
        );
    }
    if i.faults.mean_ack_minutes.is_some_and(|m| m > 10.0) {
        push(
            out,
            Level::Medium,
            format!(
                "平均响应 {:.0} 分钟，超过 10 分钟 mean time to acknowledge above 10 minutes",
                i.faults.mean_ack_minutes.unwrap_or(0.0)
            ),
            "检查值班名单、邮件与机器人通知是否送达（[alerts]）。",
        );
    }
    if i.unclean_stops > 0 {
        push(
            out,
            Level::Medium,
            format!(
                "{} 次非正常停止（断电或强制结束） unclean stops",
                i.unclean_stops
            ),
            "检查服务器电源（UPS）与系统日志；用 systemctl stop 停止服务。",
        );
    }
}

/// Screens often offline or never connected.
fn screen_risks(out: &mut Vec<Risk>, i: &Inspection) {
    let flaky: Vec<&ScreenHistory> = i.screens.iter().filter(|s| s.offline_times >= 3).collect();
    if !flaky.is_empty() {
        push(
            out,
            Level::Low,
            format!(
                "屏幕多次离线 screens often offline: {}",
                flaky
                    .iter()
                    .map(|s| s.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "检查这些屏幕的网线、交换机端口与电源设置（关闭休眠）。",
        );
    }
    let never: Vec<&ScreenHistory> = i.screens.iter().filter(|s| s.last_seen.is_none()).collect();
    if !never.is_empty() {
        push(
            out,
            Level::Low,
            format!(
                "{} 块屏幕从未连接 screens never connected: {}",
                never.len(),
                never
                    .iter()
                    .map(|s| s.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "为这些屏幕签发设备令牌并在屏幕上打开地址，或从配置中删除。",
        );
    }
}

/// Long waits, a slow endpoint, the backup disk filling up.
fn load_risks(out: &mut Vec<Risk>, i: &Inspection, hospital: &Hospital) {
    for w in &i.waits {
        if w.p90_minutes > hospital.alerts.queue_wait_minutes as f64
            && hospital.alerts.queue_wait_minutes > 0
        {
            push(
                out,
                Level::Low,
                format!(
                    "{} 科室 90% 患者等候 {:.0} 分钟以内，超过告警阈值 {} 分钟",
                    w.department, w.p90_minutes, hospital.alerts.queue_wait_minutes
                ),
                "结合排班与诊室数量评估是否增开诊室。",
            );
        }
    }
    if let Some((name, a)) = i.endpoints.first() {
        let m = a.total_ms / a.calls.max(1) as f64;
        if m > 500.0 {
            push(
                out,
                Level::Low,
                format!("接口平均耗时 {m:.0} ms: {name}"),
                "执行 triage db maintain；若仍慢，请联系开发方分析。",
            );
        }
    }
    if let (Some(g), Some(free)) = (i.growth_per_day, disk_free(&hospital.backup.dir)) {
        if g > 0.0 && free as f64 / g < 180.0 {
            push(
                out,
                Level::High,
                format!(
                    "按每天增长 {} 计算，备份磁盘约 {:.0} 天后写满",
                    human_bytes(g as u64),
                    free as f64 / g
                ),
                "扩容磁盘或缩短备份保留天数（不少于 7 天）。",
            );
        }
    }
}

fn disk_free(dir: &std::path::Path) -> Option<u64> {
    fs4::available_space(dir).ok()
}

/// What the holiday checks found: a backup that does not restore, a
/// maintenance that failed, a slow or failed self-test, devices silent
/// before days with fewer people on call.
fn deep_risks(out: &mut Vec<Risk>, deep: &super::model::Deep) {
    if !deep.restore.ok {
        push(
            out,
            Level::High,
            format!("节前完整恢复最新备份未通过：{}", deep.restore.detail),
            "假期前立即执行 triage backup 并 triage backup verify，查明原因后再放假；否则假期中无法从备份恢复。",
        );
    }
    if !deep.maintenance.ok {
        push(
            out,
            Level::High,
            format!("节前数据库维护未通过：{}", deep.maintenance.detail),
            "查看维护报告中未通过的步骤，假期前处理。",
        );
    }
    match &deep.self_test {
        Ok(t) if t.ok() => {}
        Ok(t) => push(
            out,
            Level::Medium,
            format!(
                "负载自检：{} 块次屏幕中 {} 块次按时更新，叫号到屏幕 p99 {:.1} 毫秒",
                t.expected, t.delivered, t.p99_ms
            ),
            "检查服务器负载（CPU、磁盘）和日志中的慢语句，必要时在假期前重启服务并再次巡检。",
        ),
        Err(e) => push(
            out,
            Level::Medium,
            format!("负载自检未能执行：{e}"),
            "按说明处理后再执行 triage inspect --holiday 日期。",
        ),
    }
    let silent: Vec<String> = deep
        .devices
        .iter()
        .filter(|d| !d.ok)
        .map(|d| format!("{} {}", d.kind, d.code))
        .collect();
    if !silent.is_empty() {
        push(
            out,
            Level::Medium,
            format!("{} 台设备近期没有联系：{}", silent.len(), silent.join("、")),
            "假期前到现场确认这些屏幕和自助机是否开机联网；已不用的屏幕请在“设备”页停用。",
        );
    }
}
