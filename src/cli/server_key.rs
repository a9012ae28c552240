//! `triage server-key`: which server key a server and its commands use
//! (`show`: the file and its id, to note beside the copy kept apart), and
//! the way out when it is lost (`replace`: new key; every HIS client
//! revoked and every second factor removed, since what they sealed opens
//! no more), and `webhook-secret`: the patient webhooks' signing secret
//! derived from it (ADR 0020). ADR 0016; 运维手册 “服务器密钥”.

use std::process::ExitCode;

use clap::Subcommand;

use super::accounts::connect;
use super::target::{on_target, Target};
use crate::auth::server_key;
use crate::config::Hospital;

#[derive(Subcommand)]
pub enum ServerKeyCommand {
    /// Print the server key's file and its id (never the key).
    Show,
    /// Print the patient webhooks' signing secret (`whsec_…`, derived
    /// from the server key and `[patient] webhook_secret_version`), for
    /// the hospital's gateway that receives them.
    WebhookSecret,
    /// The key is lost: make a new one, revoke every HIS client and remove
    /// every second factor (stop the server first).
    Replace {
        /// Confirms that the old key is lost or must not be trusted.
        #[arg(long)]
        lost: bool,
    },
}

/// `triage server-key …`.
pub fn run(target: Target, command: ServerKeyCommand) -> ExitCode {
    on_target(target, |url, h| match command {
        ServerKeyCommand::Show => show(url, h),
        ServerKeyCommand::WebhookSecret => webhook_secret(url, h),
        ServerKeyCommand::Replace { lost } => replace(url, h, lost),
    })
}

fn show(url: &str, hospital: &Hospital) -> ExitCode {
    let path = server_key::path_of(&hospital.security);
    match connect(url).and_then(|mut c| server_key::open(&hospital.security, &mut c)) {
        Ok(key) => {
            println!("服务器密钥文件：{}", path.display());
            println!("密钥编号：{}（与数据库一致）", key.id());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(1)
        }
    }
}

fn webhook_secret(url: &str, hospital: &Hospital) -> ExitCode {
    match connect(url).and_then(|mut c| server_key::open(&hospital.security, &mut c)) {
        Ok(key) => {
            let version = hospital.patient.webhook_secret_version;
            let bytes = crate::webhooks::secret_bytes(&key, version);
            println!("{}", crate::webhooks::secret_text(&bytes));
            eprintln!(
                "患者通知签名密钥（第 {version} 版）：请只交给接收通知的医院网关，勿写入工单或日志"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(1)
        }
    }
}

fn replace(url: &str, hospital: &Hospital, lost: bool) -> ExitCode {
    if !lost {
        eprintln!(
            "error: 这会吊销全部 HIS 接口密钥并清除全部动态口令；确认原密钥已丢失时加 --lost"
        );
        return ExitCode::from(2);
    }
    match crate::backups::servers_using(url) {
        Ok(0) => {}
        Ok(_) => {
            eprintln!("error: 服务器正在使用该数据库：请先停止服务（systemctl stop triage）");
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    }
    let stamp = crate::auth::accounts::cli_stamp(triage_ground::time::program_now().naive_utc());
    let done =
        connect(url).and_then(|mut c| server_key::replace(&hospital.security, &mut c, &stamp));
    match done {
        Ok(r) => {
            println!(
                "新的服务器密钥：{}（编号 {}），请另外保存一份副本",
                server_key::path_of(&hospital.security).display(),
                r.key_id
            );
            if let Some(old) = r.old_file {
                println!("旧密钥文件已移到 {}", old.display());
            }
            println!(
                "已吊销 {} 个 HIS 客户端：{}（用 triage client add 发放新密钥）",
                r.revoked.len(),
                r.revoked.join("、")
            );
            println!(
                "已清除 {} 个账号的动态口令：{}（用 triage user totp 重新绑定）",
                r.second_factors.len(),
                r.second_factors.join("、")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(1)
        }
    }
}
