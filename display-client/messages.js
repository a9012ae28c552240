// What a page tells a person when the server refuses: every stable error
// code of the API (ground/src/error.rs, docs/API.md) has one Chinese
// sentence here, with the action to take. The API keeps its codes; a page
// never shows the server's English text. A test walks every code of the
// error enum and fails when one has no Chinese message here
// (tests/integration/contract.rs).

export const MESSAGES = {
  // The request itself: a fault of the page or the client, not of the person.
  malformed_json: "请求格式有误，请刷新页面后重试。",
  missing_body: "请求内容缺失，请刷新页面后重试。",
  unreadable_body: "请求内容无法读取，请刷新页面后重试。",
  invalid_operator: "操作人信息不正确，请重新登录后重试。",
  bad_request: "请求有误，请刷新页面后重试。",
  payload_too_large: "提交的内容过大，请缩小后重试（照片请小于 2 MB）。",
  request_head_too_large: "请求过大，请清除浏览器缓存后重试。",
  unsupported_media_type: "提交的文件格式不受支持，请换用 JPEG 或 PNG。",
  method_not_allowed: "不支持此操作，请刷新页面后重试。",
  // Who is calling.
  unauthenticated: "请先登录。",
  bad_credentials: "工号或密码不正确，请重新输入。",
  account_locked: "登录失败次数过多，请稍候再试，或请管理员重置密码。",
  totp_required: "请输入手机验证器上的 6 位动态码。",
  session_expired: "登录已过期，请重新登录。",
  signature_required: "接口请求缺少签名，请联系信息科检查 HIS 接口配置。",
  bad_signature: "接口请求签名不正确，请联系信息科检查 HIS 接口密钥。",
  stale_request: "接口请求时间与服务器相差过大，请联系信息科校准时钟。",
  replayed_request: "重复的接口请求已被拒绝，请联系信息科检查 HIS 接口。",
  // Not allowed.
  forbidden: "您的账号无权进行此操作，请联系管理员。",
  csrf_failed: "页面已过期，请刷新页面后重试。",
  password_change_required: "请先修改初始密码，再继续操作。",
  origin_not_allowed: "此设备地址未被允许，请联系信息科。",
  too_many_requests: "操作过于频繁，请稍候再试。",
  // Something named does not exist.
  not_found: "未找到所要的内容，请刷新页面后重试。",
  visit_not_found: "未找到该就诊号，请核对挂号单上的就诊号；仍未找到请到挂号窗口咨询。",
  room_not_found: "未找到该诊室，请刷新页面后重试。",
  queue_not_found: "未找到该队列，请刷新页面后重试。",
  screen_not_found: "未找到该屏幕，请在屏幕管理中核对屏幕编号。",
  doctor_not_found: "未找到该医生，请核对工号，或请管理员在 HIS 中维护。",
  photo_not_found: "该医生还没有照片。",
  notice_not_found: "该通知已结束或已被撤下，请刷新页面。",
  unknown_action: "不支持此操作，请刷新页面后重试。",
  // A field fails validation.
  missing_field: "有必填项未填写，请补全后再提交。",
  unknown_field: "提交了无法识别的内容，请刷新页面后重试。",
  invalid_field: "填写的内容不正确，请核对后重试。",
  invalid_visit_no: "就诊号格式不正确，请核对挂号单上的就诊号。",
  invalid_patient_id: "患者编号格式不正确，请核对后重试。",
  invalid_patient_name: "患者姓名不正确，请核对后重试。",
  invalid_sex: "性别填写不正确，请核对后重试。",
  invalid_birth_date: "出生日期不正确，请核对后重试。",
  unknown_department: "没有这个科室，请核对科室。",
  invalid_doctor_code: "医生工号格式不正确，请核对后重试。",
  invalid_visit_type: "就诊类型不正确，请核对后重试。",
  invalid_appointment: "预约信息不正确，请核对预约时段后重试。",
  unknown_special_tag: "优先标记不正确，请从列表中选择。",
  invalid_exam_item: "检查项目不正确，请核对后重试。",
  invalid_sequence_no: "序号不正确，请核对后重试。",
  invalid_doctor_name: "医生姓名不正确，请核对后重试。",
  invalid_photo: "照片不符合要求，请换一张 JPEG 或 PNG 照片（小于 2 MB）。",
  invalid_image: "图片无法识别，请换一张 JPEG 或 PNG 图片。",
  invalid_voice_text: "叫号语音内容不正确，请修改后重试。",
  invalid_reason: "请填写原因（不超过 200 字）。",
  invalid_position: "位置不正确，请刷新页面后重试。",
  invalid_rule: "规则设置不正确，请按提示修改后再保存。",
  invalid_transfer_target: "不能转到所选的诊室或队列，请选择其他诊室。",
  unknown_queue: "没有这个队列，请刷新页面后重试。",
  unknown_room: "没有这个诊室，请刷新页面后重试。",
  no_doctor_queue: "该医生没有专属队列，请改选诊室或科室队列。",
  invalid_notice_text: "通知内容不正确（1 至 200 字），请修改后重试。",
  invalid_notice_level: "通知级别不正确，请从列表中选择。",
  invalid_screens: "请至少选择一块屏幕。",
  unknown_screen: "所选屏幕不存在，请刷新页面后重试。",
  invalid_expiry: "结束时间不正确，请选择晚于现在的时间。",
  invalid_notice_start: "开始时间不正确，请重新选择。",
  weak_password: "新密码不符合密码规则，请按提示修改后重试。",
  invalid_account: "账号信息不正确，请核对工号、姓名、角色和范围。",
  invalid_version: "版本号不正确，请刷新页面后重试。",
  // The state does not allow it.
  too_early: "还未到预约的报到时间，请按预约时间前来报到。",
  visit_not_waiting_here: "该患者不在此队列候诊，请刷新页面查看其当前位置。",
  same_queue: "患者已在该队列中候诊，无需转移。",
  visit_not_waiting: "该患者当前不在候诊（可能已被叫号或已完成），请刷新页面。",
  visit_no_show: "该患者已过号，请先办理复诊报到。",
  not_checked_in: "该患者尚未报到，请先报到。",
  registration_cancelled: "该挂号已退号，请到挂号窗口咨询。",
  appointment_cancelled: "该预约已取消，请到挂号窗口咨询。",
  version_conflict: "内容已被他人修改，请刷新页面后重新操作。",
  visit_no_taken: "该就诊号已被使用，请核对后重试。",
  appointment_in_queue: "该预约已报到排队，不能再修改。",
  visit_already_in_queue: "该患者已报到排队，无需重复报到。",
  already_called: "该患者已被叫号，请查看当前就诊。",
  visit_closed: "该患者本次就诊已结束。",
  day_closed: "今日已日结，不能再办理；如需继续，请联系管理员。",
  wrong_area: "该患者不属于本分诊区，请指引患者到所属科室分诊台。",
  not_a_doctor: "只有医生账号可以坐诊叫号。",
  wrong_department: "该医生不属于此科室，请选择本科室的医生。",
  doctor_elsewhere: "该医生正在其他诊室坐诊，请先在那间诊室退出。",
  no_doctor_here: "该诊室当前没有医生坐诊，请先签到坐诊。",
  kiosk_not_found: "未找到该报到机，请在设备管理中核对。",
  schedule_not_found: "未找到该排班，请刷新页面后重试。",
  fault_not_found: "未找到该故障记录，请刷新页面。",
  report_not_found: "未找到该报告，请刷新页面。",
  patient_link_expired: "此链接已失效：本次就诊已结束，或已过当天。如需帮助请到分诊台。",
  fault_state: "该故障的状态已变化，请刷新页面后重试。",
  own_account: "不能对自己的账号进行此操作；修改自己的密码请用“修改密码”。",
  name_taken: "该工号或名称已被使用，请换一个。",
  unknown_session: "没有这个时段，请从列表中选择。",
  invalid_date: "日期不正确，请重新选择。",
  not_scheduled: "该医生此时段没有排班，请核对排班。",
  doctor_double_booked: "该医生此时段已排在其他诊室，请先调整原排班。",
  room_paused: "诊室已暂停叫号，请先点击“开诊”恢复叫号。",
  doctor_on_break: "医生暂离中，不能叫号；请先点击“继续坐诊”。",
  room_closed: "诊室已停诊，不能叫号；如需接诊请先开诊。",
  queue_empty: "当前没有可叫号的患者。",
  no_current_patient: "当前没有正在就诊的患者。",
  state_conflict: "状态已变化，请刷新页面后重试。",
  no_queue: "该诊室没有可服务的队列，请联系管理员检查队列设置。",
  tickets_exhausted: "今日号码已用完，请联系管理员。",
  // Triage cannot serve now.
  database_unavailable: "数据库暂时不可用，本次操作未保存，请稍后重试；持续不可用请联系信息科。",
  engine_unavailable: "系统正在重启，本次操作未保存，请稍后重试。",
  service_unavailable: "系统暂时不可用，请稍后重试；持续不可用请联系信息科。",
  internal_error: "系统内部错误，本次操作未完成，请联系信息科。",
  // Made by the page itself, not by the server.
  offline: "无法连接服务器（网络或服务器故障），请检查网络后重试。",
};

const HAN = /[\u4e00-\u9fff]/;
const ENGLISH = /[A-Za-z]{2,}[\s,.;:'"()]+[A-Za-z]{2,}/;

/**
 * The Chinese sentence for a refusal. The server's own message is kept
 * when it is written in Chinese for people (it names the case more
 * exactly, as a login's wait does); a message with English in it never is.
 */
export function messageFor(code, serverMessage) {
  if (serverMessage && HAN.test(serverMessage) && !ENGLISH.test(serverMessage)) return serverMessage;
  return MESSAGES[code] || "操作未完成，请稍后重试；持续出现请联系信息科。";
}
