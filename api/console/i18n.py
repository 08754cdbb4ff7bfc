"""Every text of the staff console, in Chinese and English, in one catalogue.

Policy wording (refusal grounds, deletion recipients, consent purposes) and the names of ticket
types and statuses are not repeated here: they come from data/policy/rights.yml, through the loaded
Policy and the shared contract, in the console language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contract import RIGHTS, Language

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
    "signed_in_as": {"zh": "已登录：{actor}", "en": "Signed in as {actor}"},
    "sign_out": {"zh": "退出登录", "en": "Sign out"},
    # sign-in
    "sign_in_title": {"zh": "员工登录", "en": "Staff sign-in"},
    "sign_in_intro": {
        "zh": "请输入隐私团队的员工令牌（RIGHTS_STAFF_TOKENS 之一）。",
        "en": "Enter your privacy-team staff token (one of RIGHTS_STAFF_TOKENS).",
    },
    "staff_token": {"zh": "员工令牌", "en": "Staff token"},
    "sign_in": {"zh": "登录", "en": "Sign in"},
    "sign_in_failed": {"zh": "令牌无效，请重试。", "en": "That token is not valid. Try again."},
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
    "col_created": {"zh": "创建时间", "en": "Created"},
    "col_due": {"zh": "到期时间", "en": "Due"},
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
    "created_at": {"zh": "创建时间", "en": "Created"},
    "due_at": {"zh": "到期时间", "en": "Due"},
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
    "col_updated": {"zh": "更新时间", "en": "Updated"},
    "delay_notices": {"zh": "延期通知", "en": "Delay notices"},
    "actions": {"zh": "处理", "en": "Actions"},
    "no_actions": {
        "zh": "该工单已结案，不能再变更状态。",
        "en": "This ticket is closed; its status can no longer change.",
    },
    "move_to": {"zh": "变更为：{status}", "en": "Move to: {status}"},
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
    "submit_move": {"zh": "变更为「{status}」", "en": "Move to “{status}”"},
    "moved": {"zh": "工单已变更为「{status}」。", "en": "The ticket is now “{status}”."},
    "audit_trail": {"zh": "审计记录", "en": "Audit trail"},
    "audit_caption": {"zh": "共 {n} 条，按时间顺序", "en": "{n} entries, oldest first"},
    "col_id": {"zh": "序号", "en": "#"},
    "col_time": {"zh": "时间", "en": "Time"},
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
    "err_reason_too_long": {
        "zh": "原因最多 2000 字。",
        "en": "The reason is at most 2000 characters.",
    },
    "err_bad_version": {
        "zh": "表单缺少工单版本，请刷新页面。",
        "en": "The form lacks the ticket version; reload the page.",
    },
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
    "action.ticket.created": {"zh": "创建工单", "en": "ticket filed"},
    "action.ticket.transition": {"zh": "状态变更", "en": "status change"},
    "action.ticket.delay_notice": {"zh": "延期通知", "en": "delay notice"},
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
}
TEXTS.update({f"type.{key}": rules.label for key, rules in RIGHTS.ticket_types.items()})
TEXTS.update({f"status.{key}": labels["staff"] for key, labels in RIGHTS.status_labels.items()})

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
            text += f"（{_zh_number(section)}）" if brand == "mini" else f"第{section}条"
        return text
    if brand == "bmw":
        return f"{name} policy, part {_ROMAN[part]}" + (f".{section}" if section else "")
    return f"{name} policy, part {part}" + (f" ({section})" if section else "")


def _zh_number(n: int) -> str:
    if n <= 10:
        return _ZH_NUMERALS[n]
    if n < 20:
        return "十" + _ZH_NUMERALS[n - 10]
    return str(n)
