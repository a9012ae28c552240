//! The holiday inspection's own section (十、节前深度检查): what it did
//! and found, step by step, after the quarterly report's sections.

use super::model::{local, Deep, Done, SELF_TEST_P99_LIMIT_MS};
use crate::report::Doc;

fn result(ok: bool) -> String {
    if ok { "通过" } else { "未通过" }.to_string()
}

fn row(what: &str, d: &Done) -> Vec<String> {
    vec![
        what.to_string(),
        result(d.ok),
        format!("{:.1} 秒", d.seconds),
        d.detail.clone(),
    ]
}

/// 十、What the deep inspection did: a full restore, a maintenance, the
/// load self-test, every screen and kiosk.
pub fn deep(d: &mut Doc, deep: &Deep) {
    d.heading("十、节前深度检查 Holiday checks");
    d.para("节前深度巡检在季度巡检之外还做了以下检查（每一项都实际执行，不是读取以前的记录）。");
    let test = match &deep.self_test {
        Ok(t) => vec![
            "负载自检（叫号到屏幕）".to_string(),
            result(t.ok()),
            format!("{} 次叫号", t.calls),
            format!(
                "在{}上启动叫号引擎，{} 个诊室各叫号若干次：应更新的屏幕 {} 块次，按时收到 {} 块次；\
                 叫号到屏幕 p50 {:.1} 毫秒、p99 {:.1} 毫秒、最长 {:.1} 毫秒（服务器内，不含网络；p99 上限 {} 毫秒）",
                t.on, t.rooms, t.expected, t.delivered, t.p50_ms, t.p99_ms, t.max_ms, SELF_TEST_P99_LIMIT_MS
            ),
        ],
        Err(e) => vec![
            "负载自检（叫号到屏幕）".to_string(),
            result(false),
            String::new(),
            e.clone(),
        ],
    };
    d.table(
        &["检查 check", "结果 result", "用时 time", "说明 detail"],
        vec![
            row("最新备份完整恢复并核对", &deep.restore),
            row("数据库维护", &deep.maintenance),
            test,
        ],
    );
    let offline = deep.devices.iter().filter(|x| !x.ok).count();
    d.para(format!(
        "屏幕与自助机：共 {} 台，{} 台近期有联系，{} 台没有（见下表）。",
        deep.devices.len(),
        deep.devices.len() - offline,
        offline
    ));
    d.table(
        &[
            "类型 kind",
            "编号 code",
            "名称 name",
            "最近联系 last seen",
            "状态 state",
        ],
        deep.devices
            .iter()
            .map(|x| {
                vec![
                    x.kind.to_string(),
                    x.code.clone(),
                    x.name.clone(),
                    x.last_seen.map(local).unwrap_or_else(|| "从未联系".into()),
                    if x.ok { "在线" } else { "离线或未使用" }.to_string(),
                ]
            })
            .collect(),
    );
}
