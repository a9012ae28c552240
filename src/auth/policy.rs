//! Who may do what: the roles and scopes of principals, and one check per
//! kind of action. Every API handler asks one of these before it changes
//! or shows anything; a refusal is 403 `forbidden` naming what is missing.
//! The table of endpoints and who may call them is in `docs/security.md`;
//! the role × action test tries every cell.

use serde::{Deserialize, Serialize};

use crate::config::Hospital;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::RoomCode;

/// A staff member's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, in every department (信息科 / 系统管理员).
    Admin,
    /// Triage desk work in her departments: check-in, queue order,
    /// transfers, rooms, notices for her departments' screens, queue rules.
    Nurse,
    /// Calling and room status in the rooms he sits in.
    Doctor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Nurse => "nurse",
            Role::Doctor => "doctor",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "nurse" => Some(Role::Nurse),
            "doctor" => Some(Role::Doctor),
            _ => None,
        }
    }
}

/// What a HIS client may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Registrations: create, replace, cancel, read, check in (挂号, 签到).
    Registrations,
    /// Doctor master data.
    MasterData,
    /// Calling for a room on behalf of a named staff member
    /// (`X-Acting-Staff`), who must be allowed in that room.
    Calling,
    /// Reading queues, rooms and the hospital's configuration.
    Read,
    /// Exam results from exam stations, RIS or LIS (检查结果).
    Results,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::Registrations,
        Scope::MasterData,
        Scope::Calling,
        Scope::Read,
        Scope::Results,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Registrations => "registrations",
            Scope::MasterData => "master_data",
            Scope::Calling => "calling",
            Scope::Read => "read",
            Scope::Results => "results",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A staff member as authorization sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staff {
    pub code: String,
    pub role: Role,
    /// Departments (nurse) or rooms (doctor); empty for an admin. Shared:
    /// a request that acts for a staff member takes a copy of them, and a
    /// triage desk's nurse may work in every department.
    pub scope: std::sync::Arc<[String]>,
}

impl Staff {
    /// Whether this staff member works in `department`.
    pub fn in_department(&self, hospital: &Hospital, department: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Nurse => self.scope.iter().any(|d| d == department),
            Role::Doctor => self.scope.iter().any(|r| {
                hospital
                    .room(r)
                    .is_some_and(|room| room.department == department)
            }),
        }
    }

    /// Whether this staff member may work `room` (call, pause, close).
    pub fn in_room(&self, hospital: &Hospital, room: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Nurse => hospital
                .room(room)
                .is_some_and(|r| self.scope.iter().any(|d| *d == r.department)),
            Role::Doctor => self.scope.iter().any(|r| r == room),
        }
    }
}

/// Who is calling, authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// A staff member with a session (the staff pages).
    Staff {
        staff: Staff,
        /// The session must change its password before anything else.
        must_change: bool,
    },
    /// A HIS client by its API key, maybe acting for a staff member.
    Client {
        name: String,
        scopes: Vec<Scope>,
        acting: Option<Staff>,
    },
}

fn forbidden(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::Forbidden, message)
}

impl Principal {
    /// The operator recorded in the audit log: the staff code, `his:NAME`
    /// for a client, or `CODE via his:NAME` when a client acts for staff.
    pub fn operator(&self) -> String {
        match self {
            Principal::Staff { staff, .. } => staff.code.clone(),
            Principal::Client {
                name,
                acting: Some(s),
                ..
            } => format!("{} via his:{name}", s.code),
            Principal::Client { name, .. } => format!("his:{name}"),
        }
    }

    fn has(&self, scope: Scope) -> bool {
        matches!(self, Principal::Client { scopes, .. } if scopes.contains(&scope))
    }

    pub fn staff(&self) -> Option<&Staff> {
        match self {
            Principal::Staff { staff, .. } => Some(staff),
            Principal::Client { .. } => None,
        }
    }

    fn is_admin(&self) -> bool {
        self.staff().is_some_and(|s| s.role == Role::Admin)
    }

    /// Administration: accounts, screens' tokens, the audit log.
    /// The person acting: the staff member of a session, or the one a
    /// HIS client acts for (`X-Acting-Staff`).
    pub fn person(&self) -> Option<&Staff> {
        match self {
            Principal::Staff { staff, .. } => Some(staff),
            Principal::Client { acting, .. } => acting.as_ref(),
        }
    }

    pub fn admin(&self) -> Result<(), Error> {
        if self.is_admin() {
            return Ok(());
        }
        Err(forbidden("only an administrator may do this"))
    }

    /// Registrations from HIS: create, replace, cancel (挂号, 退号).
    pub fn register(&self) -> Result<(), Error> {
        if self.is_admin() || self.has(Scope::Registrations) {
            return Ok(());
        }
        Err(forbidden(
            "registrations come from HIS (a client with the registrations scope)",
        ))
    }

    /// Whether this is HIS with the registrations scope (or an
    /// administrator): no department check needed.
    pub fn may_register(&self) -> bool {
        self.register().is_ok()
    }

    /// Exam results: from exam stations, RIS or LIS (a client with the
    /// results scope), or an administrator.
    pub fn report_results(&self) -> Result<(), Error> {
        if self.is_admin() || self.has(Scope::Results) {
            return Ok(());
        }
        Err(forbidden(
            "exam results come from exam stations, RIS or LIS (a client with the results scope)",
        ))
    }

    /// Reading a visit's exam results: its department's staff, a HIS
    /// client with a reading scope, or the results scope.
    pub fn read_results(&self, hospital: &Hospital, department: &str) -> Result<(), Error> {
        if self.has(Scope::Results) {
            return Ok(());
        }
        self.read(hospital, department)
    }

    /// Statistics: the departments this principal may see (`None`: all),
    /// or a refusal when `department` is outside them. Administrators and
    /// HIS clients with the read scope see all; a nurse her departments; a
    /// doctor his rooms' departments.
    pub fn read_stats(
        &self,
        hospital: &Hospital,
        department: Option<&str>,
    ) -> Result<Option<Vec<String>>, Error> {
        let mine: Option<Vec<String>> = match self {
            Principal::Staff { staff, .. } if staff.role == Role::Admin => None,
            Principal::Staff { staff, .. } => Some(
                hospital
                    .departments
                    .iter()
                    .filter(|d| staff.in_department(hospital, &d.code))
                    .map(|d| d.code.to_string())
                    .collect(),
            ),
            Principal::Client { .. } if self.has(Scope::Read) => None,
            Principal::Client { .. } => {
                return Err(forbidden("statistics need the read scope"));
            }
        };
        match (department, mine) {
            (Some(d), Some(m)) if !m.iter().any(|x| x == d) => Err(forbidden(format!(
                "department {d:?} is outside your departments"
            ))),
            (_, m) => Ok(m),
        }
    }

    /// Doctor master data.
    pub fn master_data(&self) -> Result<(), Error> {
        if self.is_admin() || self.has(Scope::MasterData) {
            return Ok(());
        }
        Err(forbidden(
            "doctor master data comes from HIS (a client with the master_data scope)",
        ))
    }

    /// Writing the schedule (出诊排班) of a room of `department`: HIS (a
    /// client with the master_data scope), an administrator, or a nurse of
    /// the department.
    pub fn schedule(&self, hospital: &Hospital, department: &str) -> Result<(), Error> {
        if self.has(Scope::MasterData) {
            return Ok(());
        }
        match self.staff() {
            Some(_) => self.arrange(hospital, department),
            None => Err(forbidden(
                "the schedule comes from HIS (a client with the master_data scope)",
            )),
        }
    }

    /// Reading the schedule: any staff member, or a HIS client with a
    /// reading or the master_data scope.
    pub fn read_schedule(&self) -> Result<(), Error> {
        if self.has(Scope::MasterData) {
            return Ok(());
        }
        self.read_hospital()
    }

    /// Reading what concerns `department` (its queues, rooms, patients).
    pub fn read(&self, hospital: &Hospital, department: &str) -> Result<(), Error> {
        if self.may_read(hospital, department) {
            return Ok(());
        }
        Err(forbidden(format!(
            "department {department:?} is outside your departments"
        )))
    }

    /// Whether `department` is visible to this principal (for lists).
    pub fn may_read(&self, hospital: &Hospital, department: &str) -> bool {
        match self {
            Principal::Staff { staff, .. } => staff.in_department(hospital, department),
            Principal::Client { scopes, .. } => scopes
                .iter()
                .any(|s| matches!(s, Scope::Read | Scope::Calling | Scope::Registrations)),
        }
    }

    /// Reading the hospital's configuration (departments, rooms, doctors,
    /// screens): any staff member or a client with a reading scope.
    pub fn read_hospital(&self) -> Result<(), Error> {
        match self {
            Principal::Staff { .. } => Ok(()),
            Principal::Client { .. } if self.has(Scope::Read) || self.has(Scope::Calling) => Ok(()),
            Principal::Client { .. } => Err(forbidden("this client has no reading scope")),
        }
    }

    /// Check-in (签到) of a visit of `department`: the triage desk or HIS.
    pub fn check_in(&self, hospital: &Hospital, department: &str) -> Result<(), Error> {
        if self.has(Scope::Registrations) {
            return Ok(());
        }
        self.arrange(hospital, department)
    }

    /// Queue order and transfers in `department` (召回, 挂起, 置顶, 调序,
    /// 转诊): its nurses and administrators.
    pub fn arrange(&self, hospital: &Hospital, department: &str) -> Result<(), Error> {
        match self.staff() {
            Some(s) if s.role == Role::Admin => Ok(()),
            Some(s) if s.role == Role::Nurse && s.in_department(hospital, department) => Ok(()),
            Some(s) if s.role == Role::Nurse => Err(forbidden(format!(
                "department {department:?} is outside your departments"
            ))),
            Some(_) => Err(forbidden("arranging queues is the triage nurses' work")),
            None => Err(forbidden("arranging queues is the triage nurses' work")),
        }
    }

    /// Changing the rules of a queue of `department`.
    pub fn change_rules(&self, hospital: &Hospital, department: &str) -> Result<(), Error> {
        self.arrange(hospital, department)
    }

    /// Working `room`: calling, finishing, pausing, opening, closing. A
    /// client needs the calling scope and a staff member to act for, who
    /// must be allowed in the room.
    pub fn operate_room(&self, hospital: &Hospital, room: &str) -> Result<(), Error> {
        let staff = match self {
            Principal::Staff { staff, .. } => staff,
            Principal::Client { scopes, acting, .. } => {
                if !scopes.contains(&Scope::Calling) {
                    return Err(forbidden("this client has no calling scope"));
                }
                acting.as_ref().ok_or_else(|| {
                    forbidden("name the staff member you call for (X-Acting-Staff)")
                })?
            }
        };
        if staff.in_room(hospital, room) {
            return Ok(());
        }
        Err(forbidden(format!(
            "{} may not work room {room:?}",
            staff.code
        )))
    }

    /// Publishing or withdrawing a notice on `screens` (`None`: every
    /// screen, administrators only): a nurse for screens that show only
    /// her departments' rooms.
    pub fn notices(
        &self,
        hospital: &Hospital,
        screens: Option<&[String]>,
        rooms_of: impl Fn(&str) -> Vec<RoomCode>,
    ) -> Result<(), Error> {
        let staff = match self.staff() {
            Some(s) if s.role == Role::Admin => return Ok(()),
            Some(s) if s.role == Role::Nurse => s,
            _ => {
                return Err(forbidden(
                    "notices are published by nurses and administrators",
                ))
            }
        };
        let Some(screens) = screens else {
            return Err(forbidden("only an administrator may address every screen"));
        };
        for code in screens {
            let rooms = rooms_of(code);
            if rooms.is_empty() || !rooms.iter().all(|r| staff.in_room(hospital, r)) {
                return Err(forbidden(format!(
                    "screen {code:?} shows rooms outside your departments"
                )));
            }
        }
        Ok(())
    }

    /// Managing a screen that shows `rooms` (register, reassign, its
    /// device token): administrators, and nurses when every room is in
    /// their departments (before and after a reassignment).
    pub fn manage_screen(&self, hospital: &Hospital, rooms: &[RoomCode]) -> Result<(), Error> {
        match self.staff() {
            Some(s) if s.role == Role::Admin => Ok(()),
            Some(s)
                if s.role == Role::Nurse
                    && !rooms.is_empty()
                    && rooms.iter().all(|r| s.in_room(hospital, r)) =>
            {
                Ok(())
            }
            Some(s) if s.role == Role::Nurse => Err(forbidden(
                "that screen shows rooms outside your departments",
            )),
            _ => Err(forbidden(
                "screens are managed by administrators and the departments' nurses",
            )),
        }
    }
}
