"""Every text of the staff console, in Chinese and English, in one catalogue.

Policy wording (refusal grounds, deletion recipients, consent purposes) and the names of ticket
types and statuses are not repeated here: they come from data/policy/rights.yml, through the loaded
Policy and the shared contract, in the console language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contract import RIGHTS, Brand, Language

LANGS = Language.values()
DEFAULT_LANG = "zh"

TEXTS: dict[str, dict[str, str]] = {
    # frame
    "app_title": {
        "zh": "个人信息权利工单 · 隐私团队控制台",
        "en": "Data-subject rights · privacy team console",
    },
    "skip_to_content": {"zh": "跳到正文", "en": "Skip to content"},
    "nav_queue": {"zh": "工单队列", "en": "Queue"},
    "switch_language": {"zh": "English", "en": "中文"},
    "signed_in_as": {"zh": "已登录：{name}（{role}）", "en": "Signed in as {name} ({role})"},
    "role.agent": {"zh": "专员", "en": "agent"},
    "role.lead": {"zh": "组长", "en": "lead"},
    "tz_note": {
        "zh": "所有时间均为北京时间（UTC+8）。",
        "en": "All times are Beijing time (UTC+8).",
    },
    "sign_out": {"zh": "退出登录", "en": "Sign out"},
    # sign-in
    "sign_in_title": {"zh": "员工登录", "en": "Staff sign-in"},
    "sign_in_intro": {
        "zh": "请用您的隐私团队员工账号登录。",
        "en": "Sign in with your privacy-team staff account.",
    },
    "login": {"zh": "登录名", "en": "Login"},
    "password": {"zh": "密码", "en": "Password"},
    "token_alternative": {
        "zh": "改用员工令牌登录（供系统和脚本使用）",
        "en": "Sign in with a staff token instead (for systems and scripts)",
    },
    "staff_token": {"zh": "员工令牌", "en": "Staff token"},
    "sign_in": {"zh": "登录", "en": "Sign in"},
    "sign_in_with_token": {"zh": "用令牌登录", "en": "Sign in with the token"},
    "sign_in_failed": {
        "zh": "登录名、密码或令牌不正确，请重试。",
        "en": "That login and password, or that token, is not right. Try again.",
    },
    "sign_in_throttled": {
        "zh": "此地址登录失败次数过多，请在 {minutes} 分钟后再试。",
        "en": "Too many failed sign-ins from this address. Try again in {minutes} minutes.",
    },
    "signed_out": {"zh": "您已退出登录。", "en": "You are signed out."},
    "session_expired": {"zh": "请先登录。", "en": "Please sign in first."},
    "csrf_failed": {
        "zh": "表单已过期或来源不明，请刷新页面后重试。",
        "en": "The form has expired or did not come from this console. "
        "Reload the page and try again.",
    },
    # queue
    "queue_title": {"zh": "工单队列", "en": "Ticket queue"},
    "filters": {"zh": "筛选", "en": "Filters"},
    "filter_status": {"zh": "状态", "en": "Status"},
    "filter_type": {"zh": "类型", "en": "Type"},
    "filter_brand": {"zh": "品牌", "en": "Brand"},
    "filter_customer": {"zh": "客户编号", "en": "Customer ID"},
    "search_label": {
        "zh": "搜索：工单编号、手机号或客户编号",
        "en": "Search: reference, mobile or customer ID",
    },
    "search_example": {
        "zh": "例如 PR-2026-000123、13500000000 或 C-0001",
        "en": "e.g. PR-2026-000123, 13500000000 or C-0001",
    },
    "hint_reference": {
        "zh": "没有编号为 {value} 的工单。",
        "en": "No ticket has the reference {value}.",
    },
    "hint_mobile": {
        "zh": "没有使用手机号 {value} 的客户。",
        "en": "No customer has the mobile number {value}.",
    },
    "hint_customer": {
        "zh": "客户编号 {value} 下没有符合条件的工单。",
        "en": "No matching tickets for customer ID {value}.",
    },
    "hint_how": {
        "zh": "搜索框可以输入工单编号（PR-2026-000123）、手机号（13500000000）"
        "或客户编号（C-0001）。",
        "en": "The search box takes a reference (PR-2026-000123), a mobile number "
        "(13500000000) or a customer ID (C-0001).",
    },
    "hint_other_filters": {
        "zh": "其他筛选条件也在生效；清除筛选后再试。",
        "en": "Other filters apply too; clear them and try again.",
    },
    "found_mobile": {
        "zh": "手机号 {value} 属于客户 {customer}。",
        "en": "The mobile number {value} belongs to customer {customer}.",
    },
    "counts_heading": {"zh": "队列概况", "en": "Queue at a glance"},
    "view_all": {"zh": "全部工单", "en": "All tickets"},
    "view.open": {"zh": "未结", "en": "Open"},
    "view.due_soon": {"zh": "即将到期", "en": "Due soon"},
    "view.overdue": {"zh": "已逾期", "en": "Overdue"},
    "view_count": {"zh": "{label}：{n}", "en": "{label}: {n}"},
    "days_left": {"zh": "还剩 {n} 个工作日", "en": "{n} working days left"},
    "day_left": {"zh": "还剩 1 个工作日", "en": "1 working day left"},
    "due_today": {"zh": "今天到期", "en": "due today"},
    "days_over": {"zh": "逾期 {n} 个工作日", "en": "{n} working days overdue"},
    "filter_overdue": {"zh": "逾期", "en": "Overdue"},
    "any": {"zh": "全部", "en": "Any"},
    "overdue_only": {"zh": "仅逾期", "en": "Overdue only"},
    "not_overdue": {"zh": "未逾期", "en": "Not overdue"},
    "apply_filters": {"zh": "筛选", "en": "Apply"},
    "clear_filters": {"zh": "清除筛选", "en": "Clear"},
    "export_csv": {"zh": "导出 CSV（当前筛选）", "en": "Export CSV (these filters)"},
    "queue_caption": {
        "zh": "共 {total} 张工单，按到期时间排序",
        "en": "{total} tickets, sorted by due date",
    },
    "queue_empty": {"zh": "没有符合条件的工单。", "en": "No tickets match these filters."},
    "invalid_filter": {
        "zh": "已忽略无效的筛选值：{fields}",
        "en": "Ignored filter values that are not valid: {fields}",
    },
    "col_reference": {"zh": "编号", "en": "Reference"},
    "col_type": {"zh": "类型", "en": "Type"},
    "col_status": {"zh": "状态", "en": "Status"},
    "col_brand": {"zh": "品牌", "en": "Brand"},
    "col_customer": {"zh": "客户编号", "en": "Customer ID"},
    "col_channel": {"zh": "渠道", "en": "Channel"},
    "col_created": {"zh": "创建时间（北京时间）", "en": "Created (Beijing time)"},
    "col_due": {"zh": "到期时间（北京时间）", "en": "Due (Beijing time)"},
    "col_assignee": {"zh": "负责人", "en": "Assignee"},
    "col_flag": {"zh": "时限", "en": "Deadline"},
    "col_provisional": {"zh": "暂定到期", "en": "Provisional due date"},
    "badge_overdue": {"zh": "已逾期", "en": "Overdue"},
    "badge_due_soon": {"zh": "即将到期", "en": "Due soon"},
    "badge_provisional": {"zh": "暂定", "en": "provisional"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
    "page_of": {"zh": "第 {page} / {pages} 页", "en": "Page {page} of {pages}"},
    "previous_page": {"zh": "上一页", "en": "Previous"},
    "next_page": {"zh": "下一页", "en": "Next"},
    # ticket
    "ticket_title": {"zh": "工单 {reference}", "en": "Ticket {reference}"},
    "back_to_queue": {"zh": "返回队列", "en": "Back to the queue"},
    "customer": {"zh": "客户", "en": "Customer"},
    "customer_masked_note": {
        "zh": "个人信息已部分隐藏；本次查看已记入审计记录。",
        "en": "Personal data is partly masked; this view is recorded in the audit trail.",
    },
    "customer_id": {"zh": "客户编号", "en": "Customer ID"},
    "name": {"zh": "姓名", "en": "Name"},
    "mobile": {"zh": "手机号码", "en": "Mobile"},
    "vins": {"zh": "车架号（VIN）", "en": "VIN"},
    "consents": {"zh": "当前同意状态", "en": "Current consents"},
    "consent_granted": {"zh": "已同意", "en": "granted"},
    "consent_withdrawn": {"zh": "已撤回", "en": "withdrawn"},
    "request": {"zh": "请求", "en": "Request"},
    "type": {"zh": "类型", "en": "Type"},
    "status": {"zh": "状态", "en": "Status"},
    "brand": {"zh": "品牌", "en": "Brand"},
    "channel": {"zh": "渠道", "en": "Channel"},
    "language": {"zh": "客户语言", "en": "Customer language"},
    "details": {"zh": "请求内容", "en": "Details"},
    "no_details": {"zh": "（无）", "en": "(none)"},
    "created_at": {"zh": "创建时间（北京时间）", "en": "Created (Beijing time)"},
    "due_at": {"zh": "到期时间（北京时间）", "en": "Due (Beijing time)"},
    "completed_at": {"zh": "结案时间（北京时间）", "en": "Closed (Beijing time)"},
    "calendar_heading": {"zh": "节假日安排", "en": "Holiday calendar"},
    "calendar_known": {"zh": "已知年份：{years}", "en": "Years known: {years}"},
    "calendar_source_library": {"zh": "chinesecalendar 库", "en": "chinesecalendar library"},
    "calendar_unknown": {
        "zh": "{year} 年起未知：到期日按周一至周五计算，标为暂定。",
        "en": "From {year} unknown: due dates count Monday to Friday and are provisional.",
    },
    "calendar_provisional": {
        "zh": "到期日暂定的未结工单：{count}",
        "en": "Open tickets with a provisional due date: {count}",
    },
    "due_provisional_note": {
        "zh": "暂定：该年度节假日安排尚未公布，公布后将重新计算。",
        "en": "Provisional: the holiday calendar of that year is not yet "
        "published; it is recomputed once it is.",
    },
    "version": {"zh": "版本", "en": "Version"},
    "resolution": {"zh": "处理结果", "en": "Resolution"},
    "refusal_ground": {"zh": "拒绝理由", "en": "Refusal ground"},
    "backup_rollover": {"zh": "备份轮换日期", "en": "Backup roll-over date"},
    "backup_rollover_note": {
        "zh": "备份中的副本最迟于此日期随备份轮换删除。",
        "en": "Copies in backups are gone by this date, when the backups roll over.",
    },
    "notices_ledger": {"zh": "下游删除通知记录", "en": "Downstream deletion notices"},
    "notices_ledger_pending": {
        "zh": "完成后将通知以下接收方删除。",
        "en": "On completion these recipients are told to delete.",
    },
    "col_recipient": {"zh": "接收方", "en": "Recipient"},
    "col_notice_status": {"zh": "状态", "en": "Status"},
    "col_attempts": {"zh": "尝试次数", "en": "Attempts"},
    "col_updated": {"zh": "更新时间（北京时间）", "en": "Updated (Beijing time)"},
    "col_reply": {"zh": "接收方回复", "en": "Recipient's reply"},
    "reply.acknowledged": {"zh": "已确认删除", "en": "confirmed the deletion"},
    "reply.not_found": {"zh": "未持有该客户信息", "en": "holds no data of the customer"},
    "record_reply": {"zh": "记录回复", "en": "Record the reply"},
    "reply_for": {"zh": "{name} 的回复", "en": "Reply of {name}"},
    "delay_notices": {"zh": "延期通知", "en": "Delay notices"},
    "actions": {"zh": "变更状态", "en": "Change the status"},
    "target_label": {"zh": "新状态", "en": "New status"},
    "choose_target": {"zh": "请选择新状态", "en": "Choose the new status"},
    "final_note": {
        "zh": "「已完成」和「已拒绝」是最终状态：提交后会请您再确认一次。",
        "en": "“completed” and “refused” are final: you are asked to confirm before it is done.",
    },
    "refuse_lead_only": {
        "zh": "拒绝请求须由组长决定。",
        "en": "Refusing a request is a lead's decision.",
    },
    "ground_only_refusing": {"zh": "仅在拒绝时填写。", "en": "Only when refusing."},
    "submit_transition": {"zh": "变更状态", "en": "Change the status"},
    "confirm_title": {"zh": "确认最终状态", "en": "Confirm the final status"},
    "confirm_text": {
        "zh": "工单 {reference} 将变更为「{status}」。这是最终状态，之后不能再更改。",
        "en": "Ticket {reference} will be “{status}”. This is final: it cannot be changed later.",
    },
    "confirm_button": {"zh": "确认变更为「{status}」", "en": "Yes, make it “{status}”"},
    "confirm_back": {"zh": "返回工单，不作更改", "en": "Back to the ticket, change nothing"},
    "assignment_heading": {"zh": "负责人", "en": "Assignee"},
    "unassigned": {"zh": "未分配", "en": "Not assigned"},
    "assign_label": {"zh": "分配给", "en": "Assign to"},
    "nobody": {"zh": "（不分配）", "en": "(nobody)"},
    "assign_button": {"zh": "分配", "en": "Assign"},
    "take_button": {"zh": "由我处理", "en": "I'll take it"},
    "assign_lead_only": {
        "zh": "分配给他人或重新分配须由组长操作。",
        "en": "Assigning to someone else or reassigning is for a lead.",
    },
    "notes_heading": {"zh": "内部备注", "en": "Internal notes"},
    "notes_note": {
        "zh": "仅员工可见，不会发给客户；备注中的手机号等会被隐藏。",
        "en": "Staff only, never sent to the customer; mobiles and the like are masked.",
    },
    "no_notes": {"zh": "暂无备注。", "en": "No notes yet."},
    "note_label": {"zh": "新备注", "en": "New note"},
    "add_note": {"zh": "添加备注", "en": "Add the note"},
    "delay_label": {
        "zh": "延期原因（将记录为对客户的延期通知，到期时间不变）",
        "en": "Reason for the delay (recorded as a delay notice to the customer; "
        "the due date stays)",
    },
    "record_delay": {"zh": "记录延期通知", "en": "Record the delay notice"},
    "no_delays": {"zh": "暂无延期通知。", "en": "No delay notices."},
    "audit_check_ok": {
        "zh": "审计链校验通过：共 {n} 条记录，未发现改动。",
        "en": "Audit chain check passed: {n} entries, nothing altered.",
    },
    "audit_check_broken": {
        "zh": "审计链校验未通过：第 {id} 条起的记录被改动或缺失。请立即通知安全负责人。",
        "en": "Audit chain check FAILED: entries from #{id} on were altered or removed. "
        "Tell the security officer now.",
    },
    "done.assigned": {"zh": "负责人已更新。", "en": "The assignee is updated."},
    "done.note": {"zh": "备注已添加。", "en": "The note is added."},
    "done.delay": {"zh": "延期通知已记录。", "en": "The delay notice is recorded."},
    "done.reply": {"zh": "接收方回复已记录。", "en": "The recipient's reply is recorded."},
    "no_actions": {
        "zh": "该工单已结案，不能再变更状态。",
        "en": "This ticket is closed; its status can no longer change.",
    },
    "reason": {
        "zh": "原因（必填，将记入审计记录）",
        "en": "Reason (required, kept in the audit trail)",
    },
    "kind.not_answered": {"zh": "不予响应的情形", "en": "Cases in which a request is not answered"},
    "kind.unreasonable": {"zh": "不合理的请求", "en": "Unreasonable requests"},
    "choose_ground": {"zh": "请选择拒绝理由", "en": "Choose a refusal ground"},
    "refusal_ground_label": {
        "zh": "拒绝理由（依据{clause}）",
        "en": "Refusal ground (under {clause})",
    },
    "moved": {"zh": "工单已变更为「{status}」。", "en": "The ticket is now “{status}”."},
    "audit_trail": {"zh": "审计记录", "en": "Audit trail"},
    "audit_caption": {"zh": "共 {n} 条，按时间顺序", "en": "{n} entries, oldest first"},
    "col_id": {"zh": "序号", "en": "#"},
    "col_time": {"zh": "时间（北京时间）", "en": "Time (Beijing time)"},
    "col_actor": {"zh": "操作人", "en": "Actor"},
    "col_action": {"zh": "操作", "en": "Action"},
    "col_data": {"zh": "内容", "en": "Data"},
    "col_hash": {"zh": "哈希", "en": "Hash"},
    # errors on a transition
    "err_version_conflict": {
        "zh": "该工单在您打开后已被他人修改（当前版本 {current}），"
        "未做任何更改。请查看最新内容后重试。",
        "en": "Someone changed this ticket after you opened it (it is now "
        "at version {current}); nothing was changed. Review the "
        "current state and try again.",
    },
    "err_transition_not_allowed": {
        "zh": "当前状态下不能进行此变更。",
        "en": "That move is not allowed from the current status.",
    },
    "err_refusal_ground_required": {
        "zh": "拒绝必须选择一项拒绝理由。",
        "en": "A refusal needs one of the refusal grounds.",
    },
    "err_unknown_refusal_ground": {
        "zh": "未知的拒绝理由。",
        "en": "That refusal ground is not one of the policy's.",
    },
    "err_refusal_ground_not_allowed": {
        "zh": "只有拒绝时才能选择拒绝理由。",
        "en": "A refusal ground is only for a refusal.",
    },
    "err_reason_required": {"zh": "请填写原因。", "en": "Please give a reason."},
    "err_bad_version": {
        "zh": "表单缺少工单版本，请刷新页面。",
        "en": "The form lacks the ticket version; reload the page.",
    },
    "err_target_required": {"zh": "请选择新状态。", "en": "Choose the new status."},
    "err_text_required": {"zh": "请填写内容。", "en": "Please write something first."},
    "err_text_too_long": {
        "zh": "内容最多 2000 字。",
        "en": "At most 2000 characters.",
    },
    "err_lead_only": {
        "zh": "此操作须由组长进行。",
        "en": "Only a lead may do that.",
    },
    "err_ticket_closed": {"zh": "该工单已结案。", "en": "This ticket is closed."},
    "err_unknown_staff": {"zh": "没有这位员工。", "en": "There is no such staff member."},
    "err_notice_not_sent": {
        "zh": "该通知尚未发出，不能记录回复。",
        "en": "That notice has not been sent; no reply can be recorded yet.",
    },
    "err_notice_not_found": {"zh": "没有这条通知。", "en": "There is no such notice."},
    "err_invalid_reply": {"zh": "请选择接收方的回复。", "en": "Choose the recipient's reply."},
    "err_generic": {"zh": "未能完成操作：{message}", "en": "That did not work: {message}"},
    "not_found_title": {"zh": "未找到", "en": "Not found"},
    "not_found": {"zh": "没有这张工单。", "en": "There is no such ticket."},
    # vocabularies (ticket types and statuses: from the shared contract, below)
    "brand.mini": {"zh": "MINI", "en": "MINI"},
    "brand.bmw": {"zh": "BMW", "en": "BMW"},
    "channel.chat": {"zh": "应用内聊天", "en": "in-app chat"},
    "channel.ivr": {"zh": "热线", "en": "hotline"},
    "lang.zh": {"zh": "中文", "en": "Chinese"},
    "lang.en": {"zh": "英文", "en": "English"},
    "notice.queued": {"zh": "排队中", "en": "queued"},
    "notice.sent": {"zh": "已发送", "en": "sent"},
    "notice.failed": {"zh": "失败", "en": "failed"},
    "notice.recorded": {"zh": "已记录", "en": "recorded"},
    "notice.acknowledged": {"zh": "已确认删除", "en": "deletion confirmed"},
    "notice.not_found": {"zh": "未持有信息", "en": "holds no data"},
    "action.ticket.created": {"zh": "创建工单", "en": "ticket filed"},
    "action.ticket.transition": {"zh": "状态变更", "en": "status change"},
    "action.ticket.delay_notice": {"zh": "延期通知", "en": "delay notice"},
    "action.ticket.notice_reply": {"zh": "接收方回复", "en": "recipient replied"},
    "action.ticket.assigned": {"zh": "分配负责人", "en": "assigned"},
    "action.ticket.note_added": {"zh": "添加内部备注", "en": "internal note added"},
    "action.ticket.due_recomputed": {"zh": "重新计算到期时间", "en": "due date recomputed"},
    "action.consent.changed": {"zh": "同意状态变更", "en": "consent changed"},
    "action.staff.read_ticket": {"zh": "员工查看工单", "en": "staff read the ticket"},
    "action.staff.read_audit": {"zh": "员工查看审计记录", "en": "staff read the audit trail"},
    "action.staff.list_tickets": {"zh": "员工查看队列", "en": "staff listed tickets"},
    "action.staff.export_tickets": {"zh": "员工导出队列", "en": "staff exported tickets"},
    "action.staff.read_consents": {"zh": "员工查看同意记录", "en": "staff read consents"},
    "action.staff.sign_in": {"zh": "员工登录控制台", "en": "staff signed in"},
    "action.staff.sign_out": {"zh": "员工退出控制台", "en": "staff signed out"},
    # CSV
    "csv_filename": {"zh": "工单队列", "en": "ticket-queue"},
    "csv_type_id": {"zh": "类型代码", "en": "type id"},
    "csv_status_id": {"zh": "状态代码", "en": "status id"},
    "csv_language": {"zh": "客户语言", "en": "customer language"},
    "csv_zone": {"zh": "北京时间", "en": "beijing-time"},
    "csv_created": {"zh": "创建时间（北京时间 UTC+8）", "en": "created (Beijing time, UTC+8)"},
    "csv_due": {"zh": "到期时间（北京时间 UTC+8）", "en": "due (Beijing time, UTC+8)"},
    "csv_days_left": {
        "zh": "剩余工作日（负数为逾期）",
        "en": "working days left (negative: overdue)",
    },
    "csv_closed": {"zh": "结案时间（北京时间 UTC+8）", "en": "closed (Beijing time, UTC+8)"},
    "csv_refusal_ground": {"zh": "拒绝理由", "en": "refusal ground"},
    "csv_outcome": {"zh": "处理结果", "en": "outcome"},
    # who, in the audit trail
    "actor_token": {"zh": "员工令牌 {fp}", "en": "staff token {fp}"},
    "actor_customer": {
        "zh": "客户 {customer}（经助手）",
        "en": "customer {customer} (via the assistant)",
    },
    "actor.system": {"zh": "系统", "en": "system"},
    "actor.bot": {"zh": "助手", "en": "assistant"},
    "actor.staff": {"zh": "员工", "en": "staff"},
    # audit data: field names and coded values in words
    "field.from": {"zh": "原状态", "en": "from"},
    "field.to": {"zh": "新状态", "en": "to"},
    "field.reason": {"zh": "原因", "en": "reason"},
    "field.refusal_ground": {"zh": "拒绝理由", "en": "refusal ground"},
    "field.version": {"zh": "版本", "en": "version"},
    "field.via": {"zh": "途径", "en": "via"},
    "field.shown": {"zh": "显示内容", "en": "shown"},
    "field.status": {"zh": "状态", "en": "status"},
    "field.type": {"zh": "类型", "en": "type"},
    "field.brand": {"zh": "品牌", "en": "brand"},
    "field.overdue": {"zh": "仅逾期", "en": "overdue only"},
    "field.returned": {"zh": "返回条数", "en": "returned"},
    "field.search": {"zh": "搜索方式", "en": "searched by"},
    "field.reference": {"zh": "工单编号", "en": "reference"},
    "field.view": {"zh": "视图", "en": "view"},
    "field.channel": {"zh": "渠道", "en": "channel"},
    "field.assurance": {"zh": "验证方式", "en": "verified by"},
    "field.due_at": {"zh": "到期时间", "en": "due"},
    "field.due_at_provisional": {"zh": "暂定到期", "en": "provisional due date"},
    "field.purpose": {"zh": "目的", "en": "purpose"},
    "field.granted": {"zh": "同意状态", "en": "consent"},
    "field.previous": {"zh": "原同意状态", "en": "before"},
    "field.source": {"zh": "来源", "en": "source"},
    "field.notice": {"zh": "通知编号", "en": "notice"},
    "field.recipient": {"zh": "接收方", "en": "recipient"},
    "field.assignee": {"zh": "负责人", "en": "assignee"},
    "field.previous_assignee": {"zh": "原负责人", "en": "previous assignee"},
    "field.note": {"zh": "备注编号", "en": "note"},
    "via.console": {"zh": "控制台", "en": "console"},
    "shown.customer_masked": {"zh": "客户信息（部分隐藏）", "en": "customer (masked)"},
    "shown.consents": {"zh": "同意状态", "en": "consents"},
    "shown.audit": {"zh": "审计记录", "en": "audit trail"},
    "search.reference": {"zh": "工单编号", "en": "reference"},
    "search.mobile": {"zh": "手机号", "en": "mobile"},
    "search.customer": {"zh": "客户编号", "en": "customer ID"},
    "assurance.sms_code": {"zh": "短信验证码", "en": "SMS code"},
    "assurance.phone_password": {"zh": "电话密码", "en": "phone password"},
    "assurance.app_session": {"zh": "应用登录", "en": "app session"},
    "source.demo_data": {"zh": "演示数据", "en": "demo data"},
}
TEXTS.update({f"type.{key}": rules.label for key, rules in RIGHTS.ticket_types.items()})
TEXTS.update({f"status.{key}": labels["staff"] for key, labels in RIGHTS.status_labels.items()})

# The confirmations a ticket page shows after a change other than a move (?done=...).
DONE_KEYS = frozenset({"assigned", "note", "delay", "reply"})

_ZH_NUMERALS = "零一二三四五六七八九十"
_ROMAN = ("", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def pick_lang(value: str | None) -> str | None:
    return value if value in LANGS else None


def translator(lang: str) -> Callable[..., str]:
    """t("key", **fields): the text in `lang`; an unknown key shows as itself, never fails."""

    def t(key: str, **fields: Any) -> str:
        entry = TEXTS.get(key)
        if entry is None:
            return key.split(".", 1)[-1] if "." in key else key
        text = entry.get(lang) or entry[DEFAULT_LANG]
        return text.format(**fields) if fields else text

    return t


def clause_words(clause_id: str, lang: str) -> str:
    """mini.5.7 -> "MINI 隐私政策第五部分（七）" / "MINI policy, part 5 (7)"; BMW parts in roman
    numerals ("BMW policy, part V.8"), as the answers of the assistant cite them."""
    parts = clause_id.split(".")
    brand, nums = parts[0], [int(p) for p in parts[1:] if p.isdigit()]
    if not nums or nums[0] >= len(_ROMAN):
        return clause_id
    name = brand.upper()
    part = nums[0]
    section = nums[1] if len(nums) > 1 else None
    if lang == "zh":
        text = f"{name} 隐私政策第{_zh_number(part)}部分"
        if section is not None:
            text += f"（{_zh_number(section)}）" if brand == Brand.MINI else f"第{section}条"
        return text
    if brand == Brand.BMW:
        return f"{name} policy, part {_ROMAN[part]}" + (f".{section}" if section else "")
    return f"{name} policy, part {part}" + (f" ({section})" if section else "")


def _zh_number(n: int) -> str:
    if n <= 10:
        return _ZH_NUMERALS[n]
    if n < 20:
        return "十" + _ZH_NUMERALS[n - 10]
    return str(n)
